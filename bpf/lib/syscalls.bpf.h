/* The syscalls difftrace follows, by number, and their arguments in the
 * pt_regs that the raw sys_enter tracepoint passes. x86-64 only, as
 * vmlinux/ is: another architecture needs its numbers and registers here. */
#ifndef DIFFTRACE_SYSCALLS_BPF_H
#define DIFFTRACE_SYSCALLS_BPF_H

#if defined(__TARGET_ARCH_x86)
#define DT_NR_read 0
#define DT_NR_write 1
#define DT_NR_close 3
#define DT_NR_readv 19
#define DT_NR_writev 20
#define DT_NR_sendfile 40
#define DT_NR_connect 42
#define DT_NR_accept 43
#define DT_NR_sendto 44
#define DT_NR_recvfrom 45
#define DT_NR_sendmsg 46
#define DT_NR_recvmsg 47
#define DT_NR_accept4 288
/* The syscall ABI's first two arguments (rdi, rsi). */
#define DT_SYSCALL_ARG0(regs) BPF_CORE_READ((regs), di)
#define DT_SYSCALL_ARG1(regs) BPF_CORE_READ((regs), si)
/* A 32-bit syscall (int 0x80, or a 32-bit process) has other numbers and
 * registers: ia32's 3 is read, not close. TS_COMPAT in the thread's status
 * says so (arch/x86/include/asm/thread_info.h). */
#define DT_TS_COMPAT 0x0002
static __always_inline int dt_compat_syscall(void)
{
	struct task_struct *t = bpf_get_current_task_btf();

	return (t->thread_info.status & DT_TS_COMPAT) != 0;
}
#else
#error "bpf/lib/syscalls.bpf.h: syscall numbers for this architecture are missing"
#endif

#endif
