/*
 * deny_openat2: make openat2(2) fail, for unit tests that must reach the
 * code for kernels without it (before 5.6: ENOSYS) or for container
 * seccomp profiles that refuse syscalls they do not know (EPERM). Used by
 * test_store.c and test_serve.c; static, included by each.
 */
#ifndef TEST_DENY_OPENAT2_H
#define TEST_DENY_OPENAT2_H

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

/*
 * Make openat2 fail with err from now on, for this process and what it
 * forks; a later call's errno wins over an earlier one's. 0, or -1 when
 * no filter could be installed (or this architecture is not handled).
 */
static int
deny_openat2(int err)
{
#if defined(SYS_openat2) && (defined(__x86_64__) || defined(__aarch64__))
#if defined(__x86_64__)
	const unsigned int	 arch = AUDIT_ARCH_X86_64;
#else
	const unsigned int	 arch = AUDIT_ARCH_AARCH64;
#endif
	struct sock_filter	 filter[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
		    offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, arch, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
		    offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat2, 0, 1),
		BPF_STMT(BPF_RET | BPF_K,
		    SECCOMP_RET_ERRNO | ((unsigned int)err & SECCOMP_RET_DATA)),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog	 prog = {
		.len = (unsigned short)(sizeof(filter) / sizeof(filter[0])),
		.filter = filter,
	};

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		return -1;
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == -1)
		return -1;
	/* Check that the filter bites. */
	if (syscall(SYS_openat2, AT_FDCWD, ".", NULL, 0) != -1 || errno != err)
		return -1;
	return 0;
#else
	(void)err;
	return -1;
#endif
}

#endif
