//go:build !unix

package assets

import "io/fs"

// inode returns 0 where inode numbers are not available; size and mtime then
// bind a sidecar to its data file.
func inode(fs.FileInfo) uint64 { return 0 }
