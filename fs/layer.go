package fs

// ExtractOptions tune ExtractLayer.
type ExtractOptions struct {
	// Rootless: keep file owners as the extracting user (no chown), mark
	// opaque dirs with user.overlay.opaque (overlay's userxattr), and skip
	// device nodes and privileged xattrs the kernel refuses.
	Rootless bool
}
