#ifndef C_SYSTEM_SHIMS_H
#define C_SYSTEM_SHIMS_H

/// Flushes the whole file system `descriptor` is on (Linux's `syncfs`, which Glibc's Swift module does not export:
/// it is a GNU extension). Returns 0, or -1 with errno set; -1 with ENOSYS where the system has no such call.
int batch_syncfs(int descriptor);

/// Names the calling thread (at most 15 bytes are kept; `pthread_setname_np`, a GNU extension). Does nothing where
/// the system cannot.
void batch_name_thread(const char *name);

#endif
