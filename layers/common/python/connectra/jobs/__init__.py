"""Jobs: import and export job state, chunk manifests, progress."""
