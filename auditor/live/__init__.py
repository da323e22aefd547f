"""The live side: which calls the selected rules need, made concurrently; resources for the engine."""
