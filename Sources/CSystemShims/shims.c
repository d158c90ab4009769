#define _GNU_SOURCE
#include "CSystemShims.h"
#include <errno.h>
#include <unistd.h>

int batch_syncfs(int descriptor) {
#if defined(__linux__)
    return syncfs(descriptor);
#else
    (void)descriptor;
    errno = ENOSYS;
    return -1;
#endif
}
