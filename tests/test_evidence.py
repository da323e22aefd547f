"""`auditor verify` against bundles an attacker shapes: a member shipped twice under one name, a zip bomb, a
member or key the signed manifest does not list. Bundles are sealed in process (evidence.seal) from tiny files;
tests/test_serve.py verifies the bundles the server builds."""
from __future__ import annotations

import io
import json
import zipfile

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from auditor.reporting import evidence
from auditor.reporting.evidence import seal, verify_bundle
from tests.conftest import run_here

FILES = {"report.json": b'{"findings": []}\n', "run.json": b'{"run": {}}\n'}
META = {"tool": "auditor", "run_id": "20261204T000000Z-abcdef", "packs": []}


@pytest.fixture(scope="module")
def key():
    return Ed25519PrivateKey.generate()


def rewritten(data: bytes, extra: list[tuple[str, bytes]] = (), drop: tuple[str, ...] = (),
              compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as original, zipfile.ZipFile(out, "w", compression) as edited:
        for info in original.infolist():
            if info.filename not in drop:
                edited.writestr(info.filename, original.read(info))
        for name, content in extra:
            edited.writestr(name, content)
    return out.getvalue()


def test_a_sealed_bundle_verifies_and_its_manifest_lists_every_member_but_itself(tmp_path, key):
    path = tmp_path / "bundle.zip"
    path.write_bytes(seal(FILES, key, META))
    verdict = verify_bundle(path)
    assert verdict.ok and verdict.files == 4, verdict.problems  # two files, the public key, SHA256SUMS
    with zipfile.ZipFile(path) as bundle:
        listed = set(json.loads(bundle.read("manifest.json"))["files"])
        assert set(bundle.namelist()) - listed == {"manifest.json", "manifest.sig"}
        assert {"signing-key.pub", "SHA256SUMS"} <= listed


@pytest.mark.filterwarnings("ignore:Duplicate name")
def test_a_member_shipped_twice_under_one_name_is_refused(tmp_path, key):
    # zipfile reads the last of two same-named members: a forged report.json after the signed one.
    path = tmp_path / "twice.zip"
    path.write_bytes(rewritten(seal(FILES, key, META), extra=[("report.json", b'{"findings": ["forged"]}')]))
    result = run_here("verify", str(path))
    assert result.code == 1, result.stdout
    assert "report.json: 2 members share this name" in result.stderr


def test_a_key_swapped_in_beside_the_signed_manifest_is_refused(tmp_path, key):
    other = Ed25519PrivateKey.generate()
    data = rewritten(seal(FILES, key, META), drop=("signing-key.pub",),
                     extra=[("signing-key.pub", evidence.public_pem(other.public_key()))])
    path = tmp_path / "swapped.zip"
    path.write_bytes(data)
    problems = verify_bundle(path).problems
    assert any(p.startswith("manifest.sig: the signature does not match") for p in problems), problems


def test_a_member_the_manifest_does_not_list_is_refused(tmp_path, key):
    path = tmp_path / "extra.zip"
    path.write_bytes(rewritten(seal(FILES, key, META), extra=[("notes.txt", b"trust me")]))
    assert verify_bundle(path).problems == ["notes.txt: in the bundle but not in the manifest"]


def test_a_member_over_the_limit_is_refused_unread(tmp_path, key, monkeypatch):
    monkeypatch.setattr(evidence, "MAX_MEMBER_BYTES", 8 * 1024 * 1024)
    path = tmp_path / "bomb.zip"  # 64 MiB of zeros: a few KB compressed
    path.write_bytes(rewritten(seal(FILES, key, META), extra=[("report.html", b"\0" * (64 * 1024 * 1024))]))
    problems = verify_bundle(path).problems
    assert any(p.startswith("report.html: 67108864 bytes decompressed, over the 8388608") for p in problems), problems


def test_a_large_member_is_hashed_as_it_streams_never_held(tmp_path, key):
    import tracemalloc

    path = tmp_path / "large.zip"  # 64 MiB, under the limit and listed: verified, at a few MiB of memory
    path.write_bytes(seal({**FILES, "resources.json": b" " * (64 * 1024 * 1024)}, key, META))
    tracemalloc.start()
    try:
        verdict = verify_bundle(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert verdict.ok, verdict.problems
    assert peak < 8 * 1024 * 1024, f"verify held {peak} bytes at its peak"


def test_a_header_that_lies_about_the_size_is_caught(tmp_path, key, monkeypatch):
    monkeypatch.setattr(evidence, "MAX_MEMBER_BYTES", 1024 * 1024)
    data = bytearray(rewritten(seal(FILES, key, META), extra=[("big.bin", b"x" * (2 * 1024 * 1024))],
                               compression=zipfile.ZIP_STORED))
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as bundle:
        local = bundle.getinfo("big.bin").header_offset
    central = None
    at = 0
    while (at := data.find(b"PK\x01\x02", at + 1)) != -1:  # the central directory entry of big.bin
        length = int.from_bytes(data[at + 28:at + 30], "little")
        if data[at + 46:at + 46 + length] == b"big.bin":
            central = at
    data[local + 22:local + 26] = (16).to_bytes(4, "little")  # both headers claim 16 bytes
    data[central + 24:central + 28] = (16).to_bytes(4, "little")
    path = tmp_path / "liar.zip"
    path.write_bytes(bytes(data))
    problems = verify_bundle(path).problems
    assert any(p.startswith("big.bin: ") for p in problems), problems


def test_a_bundle_made_before_the_key_was_listed_still_verifies(tmp_path, key):
    """Older bundles left signing-key.pub and SHA256SUMS out of the manifest; the fingerprint they signed
    names the key, so they verify, and a swapped key still does not."""
    manifest = {**META, "files": {n: evidence.sha256(d) for n, d in sorted(FILES.items())},
                "signature": {"algorithm": "Ed25519", "file": "manifest.sig", "public_key": "signing-key.pub",
                              "key_fingerprint": evidence.fingerprint(key.public_key())}}
    body = json.dumps(manifest, indent=1, sort_keys=True).encode()
    import base64

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as bundle:
        for name, data in FILES.items():
            bundle.writestr(name, data)
        bundle.writestr("manifest.json", body)
        bundle.writestr("manifest.sig", base64.b64encode(key.sign(body)))
        bundle.writestr("signing-key.pub", evidence.public_pem(key.public_key()))
        bundle.writestr("SHA256SUMS", "".join(f"{h}  {n}\n" for n, h in manifest["files"].items()))
    path = tmp_path / "old.zip"
    path.write_bytes(out.getvalue())
    assert verify_bundle(path).ok
