/*
 * src_disk.h: the one seam of the "disk" source that tests need: the
 * statvfs(3) call, which they replace to report chosen sizes for the mount
 * points of a recorded mounts file.
 */
#ifndef VIGIL_SRC_DISK_H
#define VIGIL_SRC_DISK_H

#include <sys/statvfs.h>

typedef int src_disk_statvfs_fn(const char *path, struct statvfs *buf);

/**
 * src_disk_set_statvfs(fn):
 * Make the disk source call ${fn} instead of statvfs(3); NULL restores
 * statvfs(3).  For tests; not thread-safe.
 */
void src_disk_set_statvfs(src_disk_statvfs_fn *fn);

#endif
