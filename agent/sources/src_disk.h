/*
 * src_disk.h: the seams of the "disk" source that tests need: the
 * statvfs(3) call, which they replace to report chosen sizes for the mount
 * points of a recorded mounts file (or to hang), and its time limit.
 *
 * SPDX-License-Identifier: BSD-2-Clause
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

/**
 * src_disk_set_timeout(ms):
 * How long a collection waits for one statvfs() (called in a helper
 * thread); 0 restores the default of 2 s.  For tests.
 */
void src_disk_set_timeout(int ms);

#endif
