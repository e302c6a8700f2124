//go:build unix

package assets

import (
	"io/fs"
	"syscall"
)

// inode returns the inode number of the file fi describes, or 0.
func inode(fi fs.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Ino)
	}
	return 0
}
