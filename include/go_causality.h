/* What user space tells the kernel of a Go process whose uprobes it attached
 * (bpf/lib/go_causality.bpf.h, user/capture/go_probe_sites.h). */
#ifndef DIFFTRACE_GO_CAUSALITY_H
#define DIFFTRACE_GO_CAUSALITY_H

#include "dt/portable.h"


struct dt_go_proc {
	__s64 g_tls_off; /* where the running goroutine's g is, from the thread's fsbase */
	__u32 bad;       /* set by the kernel: R14 and TLS disagreed, nothing here is believed */
	__u32 _pad;
};

#endif
