"""Moving bytes to and from the hub: resumable verified downloads, chunked uploads."""
