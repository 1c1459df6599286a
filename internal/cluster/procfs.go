package cluster

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// RSS is the resident set size of process pid, in bytes: VmRSS of
// /proc/<pid>/status. Linux only.
func RSS(pid int) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) != 2 || f[1] != "kB" {
				return 0, fmt.Errorf("cluster: /proc/%d/status: unexpected VmRSS line %q", pid, line)
			}
			kb, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("cluster: /proc/%d/status: %w", pid, err)
			}
			return kb * 1024, nil
		}
	}
	return 0, fmt.Errorf("cluster: /proc/%d/status has no VmRSS (a zombie?)", pid)
}

// CPUTime is the CPU time process pid has used so far, user and system, all
// threads: utime+stime of /proc/<pid>/stat. Its resolution is one clock tick
// (10ms on Linux). Linux only.
func CPUTime(pid int) (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name, field 2, is in parentheses and may hold spaces: the
	// fields counted from the last ')' are reliable.
	end := bytes.LastIndexByte(data, ')')
	if end < 0 {
		return 0, fmt.Errorf("cluster: /proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(string(data[end+1:]))
	// f[0] is field 3 (state): utime is field 14, stime field 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("cluster: /proc/%d/stat: %d fields", pid, len(f)+2)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("cluster: /proc/%d/stat: utime %q, stime %q", pid, f[11], f[12])
	}
	return time.Duration(utime+stime) * time.Second / time.Duration(ClockTicks()), nil
}

var clk struct {
	once  sync.Once
	ticks int64
}

// ClockTicks is sysconf(_SC_CLK_TCK), the unit of the CPU times in /proc, read from the auxiliary vector
// (AT_CLKTCK); 100 when that cannot be read.
func ClockTicks() int64 {
	clk.once.Do(func() {
		clk.ticks = 100
		data, err := os.ReadFile("/proc/self/auxv")
		if err != nil {
			return
		}
		const atClkTck = 17
		for i := 0; i+16 <= len(data); i += 16 {
			key := binary.NativeEndian.Uint64(data[i:])
			val := binary.NativeEndian.Uint64(data[i+8:])
			if key == atClkTck && val > 0 {
				clk.ticks = int64(val)
				return
			}
		}
	})
	return clk.ticks
}
