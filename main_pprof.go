//go:build pprof

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"time"
)

// With -tags pprof, each provider process writes into
// POINT_PROVIDER_PROFILE_DIR a CPU profile, an allocation profile at exit,
// and a heap profile with memory statistics at its peak heap, for profiling
// under make bench.
func init() {
	dir := os.Getenv("POINT_PROVIDER_PROFILE_DIR")
	if dir == "" {
		return
	}
	prefix := filepath.Join(dir, fmt.Sprintf("provider-%d", os.Getpid()))
	f, err := os.Create(prefix + ".pprof")
	if err != nil {
		return
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		return
	}
	go writeHeapAtPeak(prefix + ".peak.heap")
	stopProfile = func() {
		pprof.StopCPUProfile()
		_ = f.Close()
		heap, err := os.Create(prefix + ".heap")
		if err != nil {
			return
		}
		defer heap.Close()
		_ = pprof.Lookup("allocs").WriteTo(heap, 0)
	}
}

// writeHeapAtPeak rewrites a heap profile whenever the heap in use reaches a
// new peak, so that the profile shows what the peak held.
func writeHeapAtPeak(file string) {
	var peak uint64
	for range time.Tick(50 * time.Millisecond) {
		var stats runtime.MemStats
		runtime.ReadMemStats(&stats)
		if stats.HeapInuse <= peak+peak/10 {
			continue
		}
		peak = stats.HeapInuse
		_ = os.WriteFile(file+".stats", fmt.Appendf(nil, "heapInuse=%dMB heapSys=%dMB stackInuse=%dMB sys=%dMB goroutines=%d\n",
			stats.HeapInuse>>20, stats.HeapSys>>20, stats.StackInuse>>20, stats.Sys>>20, runtime.NumGoroutine()), 0o600)
		if f, err := os.Create(file); err == nil {
			_ = pprof.Lookup("heap").WriteTo(f, 0)
			_ = f.Close()
		}
	}
}
