// zlib, for the Lambda packager's zip files (DEFLATE and CRC-32). The Swift toolchain's Linux installation needs
// zlib1g-dev already.
#include <zlib.h>
