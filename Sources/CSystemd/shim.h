#ifndef CSYSTEMD_SHIM_H
#define CSYSTEMD_SHIM_H
// sd_journal_sendv(3): send one native journal entry made of "FIELD=value" iovecs.
#include <systemd/sd-journal.h>
#endif
