#ifndef CCLAMAV_SHIM_H
#define CCLAMAV_SHIM_H
// libclamav's public header. Nothing here compiles code: this target only points at the
// installed library (pkg-config libclamav, Debian's libclamav-dev).
#include <clamav.h>
#endif
