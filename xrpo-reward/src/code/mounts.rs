//! The minimal file tree of [`Isolation::Namespaces`](super::Isolation::Namespaces): what a
//! program sees after `pivot_root`.
//!
//! The new root is an empty tmpfs. Into it go, read-only and at their host paths: the
//! system's program and library directories (`/usr`, `/lib*`, `/bin`, `/sbin`; merged-`/usr`
//! symlinks are recreated as symlinks), `/etc/ld.so.cache`, and the interpreter's own
//! directories (its prefixes and `sys.path`, found by asking it; parents are created as empty
//! directories, so a pyenv under a `0700` `/root` is reachable without exposing `/root`).
//! Then `/dev` with `null`, `zero`, `full`, `random`, `urandom` only; a fresh `/proc` of the
//! run's pid namespace; `/box` (the run directory: the program's files, read-only) with
//! `/box/work` (the size-capped tmpfs working directory); and `/tmp` as a symlink to it.
//! Nothing else of the host exists: not `/tmp`, `/run`, `/var`, `/home`, `/root`, the
//! project, other runs' directories, or any host Unix socket.

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

/// System directories bound when present (or recreated, when they are symlinks).
const SYSTEM_DIRS: [&str; 8] = [
    "/usr",
    "/bin",
    "/sbin",
    "/lib",
    "/lib64",
    "/lib32",
    "/libx32",
    "/etc/alternatives",
];
/// Single files bound when present.
const SYSTEM_FILES: [&str; 1] = ["/etc/ld.so.cache"];
/// Device nodes bound into the new `/dev`.
const DEVICES: [&str; 5] = ["null", "zero", "full", "random", "urandom"];

/// Where the run directory appears inside the tree.
pub const BOX: &str = "/box";

/// One step of building the tree, with paths on the host side of the new root.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    /// `mkdir` inside the new root.
    Dir(PathBuf),
    /// An empty file inside the new root (a bind target for a file).
    File(PathBuf),
    /// A symlink inside the new root: `(at, target)`.
    Symlink(PathBuf, PathBuf),
    /// A read-only bind of a host path to the same path inside the new root.
    Bind(PathBuf),
}

/// The host paths a tree exposes, decided once per sandbox.
#[derive(Debug, Clone, Default)]
pub struct Tree {
    steps: Vec<Step>,
}

/// Walks `p` component by component: every symlink on the way is recorded (to be recreated
/// inside the tree) and followed; the path it ends at, if it exists, is to be bound.
fn resolve(p: &Path, links: &mut Vec<(PathBuf, PathBuf)>, binds: &mut Vec<PathBuf>, depth: u32) {
    if depth > 16 {
        return;
    }
    let mut cur = PathBuf::from("/");
    let comps: Vec<Component<'_>> = p.components().collect();
    for (i, c) in comps.iter().enumerate() {
        match c {
            Component::Normal(n) => cur.push(n),
            Component::ParentDir => {
                cur.pop();
            }
            _ => continue,
        }
        let Ok(meta) = std::fs::symlink_metadata(&cur) else {
            return;
        };
        if meta.file_type().is_symlink() {
            let Ok(target) = std::fs::read_link(&cur) else {
                return;
            };
            if !links.iter().any(|(at, _)| at == &cur) {
                links.push((cur.clone(), target.clone()));
            }
            let base = cur.parent().unwrap_or(Path::new("/")).to_path_buf();
            let mut rest = base.join(target);
            for c in &comps[i + 1..] {
                rest.push(c);
            }
            resolve(&rest, links, binds, depth + 1);
            return;
        }
    }
    binds.push(cur);
}

fn lexical_parents(p: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut cur = PathBuf::from("/");
    let comps: Vec<Component<'_>> = p.components().collect();
    for c in comps.iter().take(comps.len().saturating_sub(1)) {
        if let Component::Normal(n) = c {
            cur.push(n);
            out.push(cur.clone());
        }
    }
    out
}

impl Tree {
    /// The tree for programs that need `visible` (absolute paths: files or directories,
    /// symlinks followed) besides the system directories.
    pub fn new(visible: &[PathBuf]) -> io::Result<Tree> {
        let mut binds: Vec<PathBuf> = Vec::new();
        let mut links: Vec<(PathBuf, PathBuf)> = Vec::new();
        let wanted = SYSTEM_DIRS
            .iter()
            .chain(SYSTEM_FILES.iter())
            .map(PathBuf::from)
            .chain(visible.iter().cloned());
        for p in wanted {
            if p.is_absolute() && p != Path::new("/") {
                resolve(&p, &mut links, &mut binds, 0);
            }
        }
        // Keep outermost binds only; drop links inside a bound directory.
        binds.sort();
        binds.dedup();
        let mut outer: Vec<PathBuf> = Vec::new();
        for b in binds {
            if !outer.iter().any(|o| b.starts_with(o)) {
                outer.push(b);
            }
        }
        links.retain(|(at, _)| !outer.iter().any(|o| at.starts_with(o)));
        let mut steps = Vec::new();
        let mut dirs: Vec<PathBuf> = Vec::new();
        for p in outer.iter().chain(links.iter().map(|(at, _)| at)) {
            for d in lexical_parents(p) {
                if !dirs.contains(&d) && !outer.iter().any(|o| d.starts_with(o)) {
                    dirs.push(d);
                }
            }
        }
        // A symlinked parent (a path under `/lib` when `/lib -> usr/lib`) cannot be a
        // directory too: such binds are reached through the link and the bound target.
        dirs.retain(|d| !links.iter().any(|(at, _)| at == d));
        dirs.sort_by_key(|d| d.components().count());
        steps.extend(dirs.into_iter().map(Step::Dir));
        for (at, target) in links {
            steps.push(Step::Symlink(at, target));
        }
        for b in outer {
            if b.is_dir() {
                steps.push(Step::Dir(b.clone()));
            } else {
                steps.push(Step::File(b.clone()));
            }
            steps.push(Step::Bind(b));
        }
        Ok(Tree { steps })
    }

    /// The host paths bound into the tree.
    #[cfg(test)]
    pub fn bound(&self) -> Vec<&Path> {
        self.steps
            .iter()
            .filter_map(|s| match s {
                Step::Bind(p) => Some(p.as_path()),
                _ => None,
            })
            .collect()
    }
}

/// One system call of the plan, every path prepared as a C string before `fork`.
#[derive(Debug)]
enum Op {
    Mkdir(CString),
    Touch(CString),
    Symlink(CString, CString),
    /// `(source, target, recursive)`, then made read-only, nosuid (and nodev unless a
    /// device).
    BindRo(CString, CString, bool, bool),
    Tmpfs(CString, CString),
}

/// A tree for one run, ready to build in the forked child.
#[derive(Debug)]
pub struct Plan {
    new_root: CString,
    root_options: CString,
    ops: Vec<Op>,
}

fn cpath(p: &Path) -> io::Result<CString> {
    CString::new(p.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, format!("{p:?} has a NUL")))
}

fn inside(root: &Path, p: &Path) -> PathBuf {
    root.join(p.strip_prefix("/").unwrap_or(p))
}

impl Plan {
    /// The plan that builds `tree` under `new_root` (an empty directory), with `run_dir`
    /// bound at [`BOX`] and a tmpfs with `work_options` at `BOX/work`.
    pub fn new(
        tree: &Tree,
        new_root: &Path,
        run_dir: &Path,
        work_options: &str,
    ) -> io::Result<Plan> {
        let mut ops = Vec::new();
        let at = |p: &Path| cpath(&inside(new_root, p));
        for step in &tree.steps {
            ops.push(match step {
                Step::Dir(p) => Op::Mkdir(at(p)?),
                Step::File(p) => Op::Touch(at(p)?),
                Step::Symlink(p, target) => Op::Symlink(cpath(target)?, at(p)?),
                Step::Bind(p) => Op::BindRo(cpath(p)?, at(p)?, true, false),
            });
        }
        let dev = Path::new("/dev");
        ops.push(Op::Mkdir(at(dev)?));
        ops.push(Op::Tmpfs(at(dev)?, CString::from(c"size=64k,mode=0755")));
        for d in DEVICES {
            let host = dev.join(d);
            if host.exists() {
                ops.push(Op::Touch(at(&host)?));
                ops.push(Op::BindRo(cpath(&host)?, at(&host)?, false, true));
            }
        }
        for (name, target) in [
            ("fd", "/proc/self/fd"),
            ("stdin", "/proc/self/fd/0"),
            ("stdout", "/proc/self/fd/1"),
            ("stderr", "/proc/self/fd/2"),
        ] {
            ops.push(Op::Symlink(cpath(Path::new(target))?, at(&dev.join(name))?));
        }
        ops.push(Op::Mkdir(at(Path::new("/proc"))?));
        let boxed = Path::new(BOX);
        ops.push(Op::Mkdir(at(boxed)?));
        ops.push(Op::BindRo(cpath(run_dir)?, at(boxed)?, false, false));
        ops.push(Op::Tmpfs(
            at(&boxed.join("work"))?,
            CString::new(work_options).map_err(|_| {
                io::Error::new(io::ErrorKind::InvalidInput, "tmpfs options contain a NUL")
            })?,
        ));
        ops.push(Op::Symlink(
            cpath(&boxed.join("work"))?,
            at(Path::new("/tmp"))?,
        ));
        Ok(Plan {
            new_root: cpath(new_root)?,
            root_options: CString::from(c"size=1m,mode=0755"),
            ops,
        })
    }

    /// The working directory inside the tree.
    pub fn work() -> &'static std::ffi::CStr {
        c"/box/work"
    }

    /// Builds the tree and makes it the root: runs in the forked child, inside a fresh mount
    /// namespace whose mounts are already private. System calls only (no allocation).
    ///
    /// # Safety
    /// Must run in a single-threaded child after `unshare(CLONE_NEWNS)`.
    pub unsafe fn build(&self) -> io::Result<()> {
        // SAFETY (whole function): raw syscalls with pointers to live NUL-terminated strings
        // owned by `self` and initialised structs on the stack.
        unsafe {
            check(libc::mount(
                c"tmpfs".as_ptr(),
                self.new_root.as_ptr(),
                c"tmpfs".as_ptr(),
                libc::MS_NOSUID | libc::MS_NODEV,
                self.root_options.as_ptr() as *const libc::c_void,
            ))?;
            for op in &self.ops {
                match op {
                    Op::Mkdir(p) => {
                        if libc::mkdir(p.as_ptr(), 0o755) != 0
                            && *libc::__errno_location() != libc::EEXIST
                        {
                            return Err(io::Error::last_os_error());
                        }
                    }
                    Op::Touch(p) => {
                        let fd = libc::open(
                            p.as_ptr(),
                            libc::O_CREAT | libc::O_WRONLY | libc::O_CLOEXEC,
                            0o644,
                        );
                        check(fd)?;
                        libc::close(fd);
                    }
                    Op::Symlink(target, at) => check(libc::symlink(target.as_ptr(), at.as_ptr()))?,
                    Op::BindRo(src, dst, recursive, device) => {
                        let rec = if *recursive { libc::MS_REC } else { 0 };
                        check(libc::mount(
                            src.as_ptr(),
                            dst.as_ptr(),
                            std::ptr::null(),
                            libc::MS_BIND | rec,
                            std::ptr::null(),
                        ))?;
                        let mut set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID;
                        if !device {
                            set |= MOUNT_ATTR_NODEV;
                        }
                        set_attr(dst.as_ptr(), set, if *recursive { AT_RECURSIVE } else { 0 })?;
                    }
                    Op::Tmpfs(p, options) => check(libc::mount(
                        c"tmpfs".as_ptr(),
                        p.as_ptr(),
                        c"tmpfs".as_ptr(),
                        libc::MS_NOSUID | libc::MS_NODEV,
                        options.as_ptr() as *const libc::c_void,
                    ))?,
                }
            }
            // Make the new root `/`, and detach the host's tree beneath it.
            check(libc::chdir(self.new_root.as_ptr()))?;
            check(libc::syscall(libc::SYS_pivot_root, c".".as_ptr(), c".".as_ptr()) as i32)?;
            check(libc::umount2(c".".as_ptr(), libc::MNT_DETACH))?;
            check(libc::chdir(c"/".as_ptr()))?;
            // The skeleton itself (root and /dev tmpfs) is read-only too.
            let ro = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
            set_attr(c"/".as_ptr(), ro, 0)?;
            set_attr(c"/dev".as_ptr(), MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID, 0)?;
        }
        Ok(())
    }
}

const MOUNT_ATTR_RDONLY: u64 = 0x1;
const MOUNT_ATTR_NOSUID: u64 = 0x2;
const MOUNT_ATTR_NODEV: u64 = 0x4;
const AT_RECURSIVE: libc::c_uint = 0x8000;

#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

/// `mount_setattr(path, flags, {attr_set: set})`.
unsafe fn set_attr(path: *const libc::c_char, set: u64, flags: libc::c_uint) -> io::Result<()> {
    let attr = MountAttr {
        attr_set: set,
        attr_clr: 0,
        propagation: 0,
        userns_fd: 0,
    };
    // SAFETY: `path` is a live C string, `attr` a valid struct of the size given.
    let r = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            libc::AT_FDCWD,
            path,
            flags,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

fn check(r: libc::c_int) -> io::Result<()> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binds_are_outermost_and_parents_come_first() {
        let dir = std::env::temp_dir().join(format!("xrpo-tree-{}", std::process::id()));
        let inner = dir.join("a/b");
        std::fs::create_dir_all(&inner).unwrap();
        let tree = Tree::new(&[inner.clone(), dir.join("a"), dir.join("missing")]).unwrap();
        let bound = tree.bound();
        assert!(bound.contains(&dir.join("a").as_path()), "{bound:?}");
        assert!(!bound.contains(&inner.as_path()), "{bound:?}");
        assert!(!bound.iter().any(|p| p.ends_with("missing")), "{bound:?}");
        // Every directory step comes before the bind that needs it.
        let pos = |s: &Step| tree.steps.iter().position(|t| t == s).unwrap();
        let bind = pos(&Step::Bind(dir.join("a")));
        assert!(pos(&Step::Dir(dir.clone())) < bind);
        // Nothing of /tmp itself, /run or /root is bound.
        for hidden in ["/tmp", "/run", "/root", "/home", "/var"] {
            assert!(
                !bound.contains(&Path::new(hidden)),
                "{hidden} bound: {bound:?}"
            );
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
