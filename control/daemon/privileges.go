package daemon

import (
	"bufio"
	"errors"
	"os"
	"strconv"
	"strings"
)

// Capability numbers (include/uapi/linux/capability.h).
const (
	capNetAdmin = 12
	capNetRaw   = 13
	capIPCLock  = 14
	capSysAdmin = 21
	capBPF      = 39
)

// ErrPrivileges: the process cannot create AF_XDP sockets or load BPF.
var ErrPrivileges = errors.New("missing privileges: xdpgw run needs CAP_NET_ADMIN, CAP_NET_RAW and CAP_BPF (or CAP_SYS_ADMIN); run it as root or grant them with `setcap cap_net_admin,cap_net_raw,cap_bpf,cap_ipc_lock+ep xdpgw`")

// checkPrivileges reads the effective capabilities of the process.
func checkPrivileges() error {
	caps, err := effectiveCaps()
	if err != nil {
		// Cannot tell (no /proc): let the first privileged call fail.
		return nil
	}
	has := func(c uint) bool { return caps&(1<<c) != 0 }
	if has(capNetAdmin) && has(capNetRaw) && (has(capBPF) || has(capSysAdmin)) {
		return nil
	}
	return ErrPrivileges
}

func effectiveCaps() (uint64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "CapEff:"); ok {
			return strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		}
	}
	return 0, errors.New("no CapEff in /proc/self/status")
}

// hasIPCLock: without CAP_IPC_LOCK the UMEM counts against RLIMIT_MEMLOCK.
func hasIPCLock() bool {
	caps, err := effectiveCaps()
	return err == nil && caps&(1<<capIPCLock) != 0
}
