//! The sandbox's seccomp filter: a classic-BPF program, built before `fork` and installed
//! last in the child (after `PR_SET_NO_NEW_PRIVS`), at every isolation level.
//!
//! It refuses (with `EPERM`, so Python sees an ordinary `OSError`):
//! - socket families other than those the configuration allows (none by default; vsock,
//!   netlink, packet and every other family are never allowed);
//! - user-namespace and other namespace creation (`unshare`, `setns`, `clone` with any
//!   `CLONE_NEW*` flag; `clone3`, whose flags a filter cannot read, gets `ENOSYS` so libc
//!   falls back to `clone`);
//! - tracing and reaching into other processes (`ptrace`, `process_vm_readv/writev`,
//!   `pidfd_getfd`, `kcmp`);
//! - the kernel keyring (`keyctl`, `add_key`, `request_key`), `bpf`, `perf_event_open`,
//!   `userfaultfd`, `io_uring_*` (whose operations bypass this filter);
//! - mounting and changing roots (`mount`, `umount2`, `pivot_root`, `chroot`, the new mount
//!   API), `kexec_*`, module loading, `reboot`, swap, clock and host-name changes,
//!   `quotactl`, `acct`, file handles (`open_by_handle_at`), and on x86-64 `iopl`/`ioperm`,
//!   `modify_ldt` and every x32-ABI system call.
//!
//! A system call of another architecture (a 32-bit `int 0x80` on x86-64) kills the process.

use super::SocketFamily;

fn family_number(f: SocketFamily) -> u32 {
    match f {
        SocketFamily::Unix => libc::AF_UNIX as u32,
        SocketFamily::Inet => libc::AF_INET as u32,
        SocketFamily::Inet6 => libc::AF_INET6 as u32,
    }
}

#[cfg(target_arch = "x86_64")]
const AUDIT_ARCH: u32 = 0xC000_003E; // AUDIT_ARCH_X86_64
#[cfg(target_arch = "aarch64")]
const AUDIT_ARCH: u32 = 0xC000_00B7; // AUDIT_ARCH_AARCH64
/// Elsewhere the filter kills every system call, so the sandbox's probe fails (closed).
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
const AUDIT_ARCH: u32 = 0;

/// Whether this build can filter system calls (x86-64 and aarch64).
pub const SUPPORTED: bool = cfg!(any(target_arch = "x86_64", target_arch = "aarch64"));

const RET_KILL_PROCESS: u32 = 0x8000_0000;
const RET_ALLOW: u32 = 0x7fff_0000;
const RET_ERRNO: u32 = 0x0005_0000;
/// Offsets into `struct seccomp_data`: `nr`, `arch`, and the low half of `args[0]`
/// (little-endian targets only, which both supported architectures are).
const OFF_NR: u32 = 0;
const OFF_ARCH: u32 = 4;
const OFF_ARG0: u32 = 16;

const CLONE_NEW_ANY: u32 = (libc::CLONE_NEWUSER
    | libc::CLONE_NEWNS
    | libc::CLONE_NEWPID
    | libc::CLONE_NEWNET
    | libc::CLONE_NEWIPC
    | libc::CLONE_NEWUTS
    | libc::CLONE_NEWCGROUP
    | 0x80) as u32; // CLONE_NEWTIME

/// System calls refused with `EPERM`.
fn denied() -> Vec<libc::c_long> {
    let mut v = vec![
        libc::SYS_ptrace,
        libc::SYS_process_vm_readv,
        libc::SYS_process_vm_writev,
        libc::SYS_pidfd_getfd,
        libc::SYS_kcmp,
        libc::SYS_keyctl,
        libc::SYS_add_key,
        libc::SYS_request_key,
        libc::SYS_bpf,
        libc::SYS_perf_event_open,
        libc::SYS_userfaultfd,
        libc::SYS_io_uring_setup,
        libc::SYS_io_uring_enter,
        libc::SYS_io_uring_register,
        libc::SYS_unshare,
        libc::SYS_setns,
        libc::SYS_mount,
        libc::SYS_umount2,
        libc::SYS_pivot_root,
        libc::SYS_chroot,
        libc::SYS_open_tree,
        libc::SYS_move_mount,
        libc::SYS_fsopen,
        libc::SYS_fsconfig,
        libc::SYS_fsmount,
        libc::SYS_fspick,
        libc::SYS_mount_setattr,
        libc::SYS_kexec_load,
        libc::SYS_kexec_file_load,
        libc::SYS_init_module,
        libc::SYS_finit_module,
        libc::SYS_delete_module,
        libc::SYS_reboot,
        libc::SYS_swapon,
        libc::SYS_swapoff,
        libc::SYS_settimeofday,
        libc::SYS_clock_settime,
        libc::SYS_clock_adjtime,
        libc::SYS_adjtimex,
        libc::SYS_sethostname,
        libc::SYS_setdomainname,
        libc::SYS_quotactl,
        libc::SYS_acct,
        libc::SYS_open_by_handle_at,
        libc::SYS_name_to_handle_at,
        libc::SYS_personality,
    ];
    #[cfg(target_arch = "x86_64")]
    v.extend([
        libc::SYS_iopl,
        libc::SYS_ioperm,
        libc::SYS_modify_ldt,
        libc::SYS_uselib,
    ]);
    v
}

/// A built filter program.
#[derive(Debug, Clone)]
pub struct Filter(Vec<libc::sock_filter>);

fn stmt(code: u16, k: u32) -> libc::sock_filter {
    libc::sock_filter {
        code,
        jt: 0,
        jf: 0,
        k,
    }
}

fn jump(code: u16, k: u32, jt: u8, jf: u8) -> libc::sock_filter {
    libc::sock_filter { code, jt, jf, k }
}

const LD_ABS: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
const JEQ: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
const JGE: u16 = (libc::BPF_JMP | libc::BPF_JGE | libc::BPF_K) as u16;
const JSET: u16 = (libc::BPF_JMP | libc::BPF_JSET | libc::BPF_K) as u16;
const RET: u16 = (libc::BPF_RET | libc::BPF_K) as u16;

impl Filter {
    /// The filter allowing sockets of `families` only.
    pub fn new(families: &[SocketFamily]) -> Self {
        let eperm = RET_ERRNO | libc::EPERM as u32;
        let mut p = vec![
            stmt(LD_ABS, OFF_ARCH),
            jump(JEQ, AUDIT_ARCH, 1, 0),
            stmt(RET, RET_KILL_PROCESS),
            stmt(LD_ABS, OFF_NR),
        ];
        #[cfg(target_arch = "x86_64")]
        p.extend([jump(JGE, 0x4000_0000, 0, 1), stmt(RET, eperm)]);
        for nr in denied() {
            p.extend([jump(JEQ, nr as u32, 0, 1), stmt(RET, eperm)]);
        }
        p.extend([
            jump(JEQ, libc::SYS_clone3 as u32, 0, 1),
            stmt(RET, RET_ERRNO | libc::ENOSYS as u32),
        ]);
        // clone(flags, …): refuse any namespace flag.
        p.extend([
            jump(JEQ, libc::SYS_clone as u32, 0, 4),
            stmt(LD_ABS, OFF_ARG0),
            jump(JSET, CLONE_NEW_ANY, 0, 1),
            stmt(RET, eperm),
            stmt(RET, RET_ALLOW),
        ]);
        // socket(family, …) and socketpair(family, …): allowed families only.
        let mut fams: Vec<u32> = families.iter().map(|&f| family_number(f)).collect();
        fams.sort_unstable();
        fams.dedup();
        for nr in [libc::SYS_socket, libc::SYS_socketpair] {
            let block = 1 + 2 * fams.len() + 1;
            p.push(jump(JEQ, nr as u32, 0, block as u8));
            p.push(stmt(LD_ABS, OFF_ARG0));
            for &f in &fams {
                p.extend([jump(JEQ, f, 0, 1), stmt(RET, RET_ALLOW)]);
            }
            p.push(stmt(RET, RET_ERRNO | libc::EAFNOSUPPORT as u32));
        }
        p.push(stmt(RET, RET_ALLOW));
        Filter(p)
    }

    /// Installs the filter on the calling thread (and everything it executes or forks).
    /// Needs `PR_SET_NO_NEW_PRIVS` (or `CAP_SYS_ADMIN`). Async-signal-safe: no allocation.
    ///
    /// # Safety
    /// Only a syscall with a pointer into `self`, which outlives the call.
    pub unsafe fn install(&self) -> std::io::Result<()> {
        let prog = libc::sock_fprog {
            len: self.0.len() as u16,
            filter: self.0.as_ptr() as *mut libc::sock_filter,
        };
        // SAFETY: `prog` points at `self.0`, valid for the duration of the call; the kernel
        // copies the program.
        let r = unsafe {
            libc::prctl(
                libc::PR_SET_SECCOMP,
                libc::SECCOMP_MODE_FILTER,
                &prog as *const libc::sock_fprog,
                0,
                0,
            )
        };
        if r != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jumps_stay_inside_the_program() {
        for fams in [&[][..], &[SocketFamily::Unix, SocketFamily::Inet6][..]] {
            let f = Filter::new(fams);
            assert!(f.0.len() < 256, "{}", f.0.len());
            for (i, ins) in f.0.iter().enumerate() {
                if ins.code & 0x07 == libc::BPF_JMP as u16 {
                    let far = i + 1 + usize::from(ins.jt.max(ins.jf));
                    assert!(far < f.0.len(), "jump at {i} leaves the program");
                }
            }
            assert_eq!(f.0.last().map(|i| i.k), Some(RET_ALLOW));
        }
    }
}
