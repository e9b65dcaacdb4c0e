// Command timer runs the bench's measured processes and reports what the kernel saw: wall time
// from fork to reap, exit status, and peak resident memory (wait4 rusage; for a process tree it is
// the largest single process among the reaped ones) and CPU time (user + system, the whole reaped
// tree: far less sensitive than wall time to other load on the machine). The bench starts one timer per batch inside
// the sandbox node's namespace, so namespace entry and the bench's own runtime stay outside every
// measurement.
//
// Input on stdin (JSON):
//
//	{"concurrent": false, "jobs": [{"argv": [...], "env": ["K=V", ...], "stdin": "...", "dropCaches": false}]}
//
// Sequential jobs run one after another in order; concurrent jobs are all started at once and
// "wallNs" is the time from the first start to the last reap. Output on stdout (JSON):
//
//	{"wallNs": N, "results": [{"ns": N, "status": N, "maxRssKb": N, "cpuNs": N, "stdout": "...", "stderr": "...", "error": "..."}]}
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

type job struct {
	Argv       []string `json:"argv"`
	Env        []string `json:"env"`
	Stdin      string   `json:"stdin"`
	DropCaches bool     `json:"dropCaches"`
}

type batch struct {
	Concurrent bool  `json:"concurrent"`
	Jobs       []job `json:"jobs"`
}

type outcome struct {
	Ns       int64  `json:"ns"`
	Status   int    `json:"status"`
	MaxRssKb int64  `json:"maxRssKb"`
	CPUNs    int64  `json:"cpuNs"`
	Stdout   string `json:"stdout"`
	Stderr   string `json:"stderr"`
	Error    string `json:"error,omitempty"`
}

type report struct {
	WallNs  int64     `json:"wallNs"`
	Results []outcome `json:"results"`
}

const keepBytes = 64 << 10

func main() {
	var b batch
	if err := json.NewDecoder(os.Stdin).Decode(&b); err != nil {
		fmt.Fprintf(os.Stderr, "timer: cannot read the batch from stdin: %v\n", err)
		os.Exit(2)
	}
	rep := report{Results: make([]outcome, len(b.Jobs))}
	if b.Concurrent {
		rep.WallNs = runConcurrent(b.Jobs, rep.Results)
	} else {
		start := time.Now()
		for i, j := range b.Jobs {
			rep.Results[i] = runOne(j, nil)
		}
		rep.WallNs = time.Since(start).Nanoseconds()
	}
	if err := json.NewEncoder(os.Stdout).Encode(rep); err != nil {
		fmt.Fprintf(os.Stderr, "timer: cannot write the report: %v\n", err)
		os.Exit(2)
	}
}

// runConcurrent prepares every command first, then releases them together.
func runConcurrent(jobs []job, out []outcome) int64 {
	gate := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(len(jobs))
	for i := range jobs {
		go func(i int) {
			defer wg.Done()
			out[i] = runOne(jobs[i], gate)
		}(i)
	}
	time.Sleep(20 * time.Millisecond) // let every goroutine reach the gate before the clock starts
	start := time.Now()
	close(gate)
	wg.Wait()
	return time.Since(start).Nanoseconds()
}

func runOne(j job, gate chan struct{}) outcome {
	if len(j.Argv) == 0 {
		return outcome{Status: -1, Error: "empty argv"}
	}
	cmd := exec.Command(j.Argv[0], j.Argv[1:]...)
	cmd.Env = j.Env
	cmd.Stdin = strings.NewReader(j.Stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if j.DropCaches {
		if err := os.WriteFile("/proc/sys/vm/drop_caches", []byte("3\n"), 0); err != nil {
			return outcome{Status: -1, Error: "drop_caches: " + err.Error()}
		}
	}
	if gate != nil {
		<-gate
	}
	start := time.Now()
	err := cmd.Run()
	elapsed := time.Since(start).Nanoseconds()
	o := outcome{Ns: elapsed, Stdout: clip(stdout.String()), Stderr: clip(stderr.String())}
	if cmd.ProcessState == nil {
		o.Status = -1
		o.Error = err.Error()
		return o
	}
	o.Status = cmd.ProcessState.ExitCode()
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		o.MaxRssKb = ru.Maxrss
		o.CPUNs = ru.Utime.Nano() + ru.Stime.Nano()
	}
	return o
}

func clip(s string) string {
	if len(s) > keepBytes {
		return s[:keepBytes] + "\n…(clipped)"
	}
	return s
}
