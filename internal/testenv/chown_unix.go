package testenv

import (
	"os"
	"syscall"
)

func chownLike(path string, like os.FileInfo) error {
	stat := like.Sys().(*syscall.Stat_t)
	return os.Chown(path, int(stat.Uid), int(stat.Gid))
}
