"""Reports: files in, files out (evidence reports; later registry reports)."""
