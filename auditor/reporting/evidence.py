"""Evidence bundles an auditor can check without trusting the server that made them.

A bundle is a zip of every report format of one run, the waivers that applied, the resource configurations the
run saw, the diff to the previous run, the packs it was judged against (as stored when it ran), and
``manifest.json``: the SHA-256 of each file it ships, ``signing-key.pub`` (the public half of the key that signed)
and ``SHA256SUMS`` included. ``manifest.sig`` is an Ed25519 signature (through ``cryptography``) of
manifest.json's bytes. ``auditor verify`` checks the signature, then every digest, that no file was added, left
out or shipped twice under one name, and reads no member past ``MAX_MEMBER_BYTES`` (a zip bomb is refused, not
decompressed into memory: members are hashed as they stream).
"""
from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from auditor import __version__
from auditor.engine.findings import utc_now
from auditor.errors import BadInput

MANIFEST, SIGNATURE, PUBLIC_KEY, SUMS = "manifest.json", "manifest.sig", "signing-key.pub", "SHA256SUMS"
UNLISTED = (MANIFEST, SIGNATURE)  # they cannot list themselves; every other member is in the signed manifest
# Bundles made before 0.2.1 left these out of the manifest: the signed key fingerprint vouches for the key.
UNLISTED_BEFORE = (PUBLIC_KEY, SUMS)
MAX_MEMBER_BYTES = 512 * 1024 * 1024  # decompressed, per member: far above any run's reports
SMALL_MEMBER_BYTES = 16 * 1024 * 1024  # the manifest, signature, key and sums are read whole
CHUNK = 1024 * 1024


def load_or_create_key(path: Path) -> Ed25519PrivateKey:
    """The signing key at ``path`` (PEM, PKCS#8); made there, mode 0600, with ``path.pub`` beside it, when
    missing. BadInput names the path when it cannot be read or made."""
    path = Path(path)
    try:
        if path.exists():
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
            if not isinstance(key, Ed25519PrivateKey):
                raise BadInput(f"{path}: the evidence signing key must be an Ed25519 private key")
            return key
        key = Ed25519PrivateKey.generate()
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
        path.with_name(path.name + ".pub").write_bytes(public_pem(key.public_key()))
        return key
    except ValueError as exc:
        raise BadInput(f"{path}: not a PEM private key ({exc})") from None
    except OSError as exc:
        raise BadInput(f"{path}: cannot read or create the evidence signing key ({exc.strerror or exc}); "
                       "set evidence.signing_key in config.yaml to a writable path") from None


def public_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def fingerprint(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "SHA256:" + base64.b64encode(hashlib.sha256(raw).digest()).decode().rstrip("=")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def bundle_files(store, run_id: str, doc: dict) -> dict[str, bytes]:
    """Every file of the bundle but the manifest and signature: reports, waivers, resources, diff, packs."""
    from auditor.history.diff import diff_runs
    from auditor.reporting.writers import WRITERS, render

    files: dict[str, bytes] = {name: render(doc, fmt) for fmt, (name, _) in WRITERS.items()}
    files["run.json"] = _json({"run": doc["run"], "summary": doc["summary"], "history": doc["history"]})
    applied: dict[str, dict] = {}
    for f in doc["findings"]:
        if f.get("waiver"):
            entry = applied.setdefault(f["waiver"]["id"], {**{k: v for k, v in f["waiver"].items()
                                                              if k != "waived_status"}, "findings": []})
            entry["findings"].append({"rule_id": f["rule_id"], "resource": f["resource"], "status": f["status"]})
    files["waivers.json"] = _json({**doc["waivers"], "applied": list(applied.values())})
    resources = [{"type": key[0], "region": key[1], "id": key[2], **value}
                 for key, value in sorted(store.resources(run_id).items())]
    files["resources.json"] = _json(resources)
    previous = doc["history"].get("previous_run")
    files["diff.json"] = _json(diff_runs(store, previous, run_id) if previous else
                               {"previous_run": None, "note": "first finished run of this target: nothing to diff"})
    for pack in store.pack_files(run_id):
        for name, text in sorted(pack["files"].items()):
            files[f"packs/{pack['id']}/{name}"] = text.encode()
    return files


def build_bundle(store, run_id: str, doc: dict, key: Ed25519PrivateKey) -> bytes:
    files = bundle_files(store, run_id, doc)
    packs = []
    for pack in store.pack_files(run_id):
        shipped = {f"packs/{pack['id']}/{name}": sha256(files[f"packs/{pack['id']}/{name}"]) for name in pack["files"]}
        entry = {"id": pack["id"], "files": shipped}
        if len(shipped) == 1:  # a one-file pack: its digest is the digest of that file
            entry["sha256"] = next(iter(shipped.values()))
        packs.append(entry)
    meta = {"tool": "auditor", "tool_version": __version__, "generated_at": utc_now(), "run_id": run_id,
            "target": doc["run"]["target"], "run_status": doc["run"]["status"], "packs": packs}
    return seal(files, key, meta)


def seal(files: dict[str, bytes], key: Ed25519PrivateKey, meta: dict) -> bytes:
    """The zip of ``files``, the public key and SHA256SUMS, with the manifest listing the digest of every one of
    them and its signature."""
    files = dict(files)
    files[SUMS] = "".join(f"{sha256(data)}  {name}\n" for name, data in sorted(files.items())).encode()
    files[PUBLIC_KEY] = public_pem(key.public_key())
    manifest = {**meta, "files": {name: sha256(data) for name, data in sorted(files.items())},
                "signature": {"algorithm": "Ed25519", "file": SIGNATURE, "public_key": PUBLIC_KEY,
                              "key_fingerprint": fingerprint(key.public_key())}}
    manifest_bytes = json.dumps(manifest, indent=1, sort_keys=True).encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
        for name, data in files.items():
            bundle.writestr(name, data)
        bundle.writestr(MANIFEST, manifest_bytes)
        bundle.writestr(SIGNATURE, base64.b64encode(key.sign(manifest_bytes)) + b"\n")
    return buffer.getvalue()


def _json(value) -> bytes:
    return json.dumps(value, indent=1, default=str).encode()


@dataclass
class Verdict:
    problems: list[str] = field(default_factory=list)
    files: int = 0
    signer: str = ""
    run_id: str = ""

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_bundle(path: Path, public_key: Optional[Path] = None) -> Verdict:
    """Every check an auditor needs, each failure a line: one member per name, none past MAX_MEMBER_BYTES, the
    signature over the manifest (with the key given, or the one shipped, which proves integrity but not who
    signed), each member's digest, nothing added or lost."""
    path = Path(path)
    if not path.is_file():
        raise BadInput(f"{path}: no such evidence bundle")
    verdict = Verdict()
    try:
        bundle = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        verdict.problems.append(f"{path}: not a readable zip ({exc}): damaged or not an evidence bundle")
        return verdict
    with bundle:
        names = [info.filename for info in bundle.infolist()]
        for name in sorted({n for n in names if names.count(n) > 1}):
            verdict.problems.append(f"{name}: {names.count(name)} members share this name: a second copy could "
                                    "stand in for the signed one")
        digests: dict[str, str] = {}
        small: dict[str, bytes] = {}
        for info in bundle.infolist():
            if names.count(info.filename) > 1:
                continue
            problem = _read_member(bundle, info, digests, small)
            if problem:
                verdict.problems.append(problem)
    for name in (MANIFEST, SIGNATURE, PUBLIC_KEY):
        if name not in digests:
            verdict.problems.append(f"{name} is missing: this bundle cannot be verified")
    if verdict.problems:
        return verdict
    shipped_key = _public_key(small[PUBLIC_KEY], PUBLIC_KEY)
    key = shipped_key
    if public_key is not None:
        try:
            key = _public_key(Path(public_key).read_bytes(), str(public_key))
        except OSError as exc:
            raise BadInput(f"{public_key}: cannot read the public key ({exc.strerror or exc})") from None
        if key is None:
            raise BadInput(f"{public_key}: not an Ed25519 public key in PEM")
    if key is None:
        verdict.problems.append(f"{PUBLIC_KEY} is not an Ed25519 public key")
        return verdict
    verdict.signer = fingerprint(key) + ("" if public_key else " (the key shipped in the bundle: pass --public-key "
                                                              "to check who signed)")
    try:
        key.verify(base64.b64decode(small[SIGNATURE].strip(), validate=True), small[MANIFEST])
    except (InvalidSignature, ValueError):
        verdict.problems.append(f"{SIGNATURE}: the signature does not match manifest.json under key {fingerprint(key)}")
        return verdict
    try:
        manifest = json.loads(small[MANIFEST])
        listed: dict[str, str] = manifest["files"]
    except (ValueError, KeyError, TypeError):
        verdict.problems.append(f"{MANIFEST}: not a manifest")
        return verdict
    verdict.run_id = manifest.get("run_id", "")
    for name, digest in sorted(listed.items()):
        if name not in digests:
            verdict.problems.append(f"{name}: listed in the manifest but missing from the bundle")
        elif digests[name] != digest:
            verdict.problems.append(f"{name}: SHA-256 {digests[name]} is not the manifest's {digest}")
        else:
            verdict.files += 1
    unlisted = set(UNLISTED)
    if PUBLIC_KEY not in listed:  # an older bundle: the signed fingerprint must name the shipped key
        if (manifest.get("signature") or {}).get("key_fingerprint") != fingerprint(shipped_key):
            verdict.problems.append(f"{PUBLIC_KEY}: neither listed in the manifest nor the key it names")
        unlisted |= set(UNLISTED_BEFORE)
        sums = "".join(f"{h}  {n}\n" for n, h in listed.items()).encode()
        if SUMS in small and small[SUMS] != sums:
            verdict.problems.append(f"{SUMS}: does not match the signed manifest")
    for name in sorted(set(digests) - set(listed) - unlisted):
        verdict.problems.append(f"{name}: in the bundle but not in the manifest")
    for pack in manifest.get("packs", []):
        if "sha256" in pack and list(pack.get("files", {}).values()) != [pack["sha256"]]:
            verdict.problems.append(f"pack {pack.get('id')}: its sha256 is not the digest of the file it ships")
        for name, digest in pack.get("files", {}).items():
            if listed.get(name) != digest:
                verdict.problems.append(f"pack {pack.get('id')}: {name} is not shipped with the digest listed")
    return verdict


def _read_member(bundle: zipfile.ZipFile, info: zipfile.ZipInfo, digests: dict[str, str],
                 small: dict[str, bytes]) -> Optional[str]:
    """Hash one member as it streams, never past MAX_MEMBER_BYTES whatever its header claims; keep the few small
    ones verification reads whole. A problem line, or None."""
    keep = info.filename in (MANIFEST, SIGNATURE, PUBLIC_KEY, SUMS)
    limit = SMALL_MEMBER_BYTES if keep else MAX_MEMBER_BYTES
    if info.file_size > limit:
        return f"{info.filename}: {info.file_size} bytes decompressed, over the {limit} a bundle member may hold: refused"
    digest, kept, size = hashlib.sha256(), [], 0
    try:
        with bundle.open(info) as stream:
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if size > limit:
                    return f"{info.filename}: more than {limit} bytes decompressed: refused (the archive was altered)"
                digest.update(chunk)
                if keep:
                    kept.append(chunk)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:  # zlib errors surface as BadZipFile/zlib.error
        return f"{info.filename}: cannot be read ({exc}): the bundle was altered"
    except Exception as exc:  # noqa: BLE001  zlib.error and friends: a damaged member, not a crash
        return f"{info.filename}: cannot be read ({type(exc).__name__}: {exc})"
    digests[info.filename] = digest.hexdigest()
    if keep:
        small[info.filename] = b"".join(kept)
    return None


def _public_key(data: bytes, where: str) -> Optional[Ed25519PublicKey]:
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError:
        return None
    return key if isinstance(key, Ed25519PublicKey) else None
