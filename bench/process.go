package main

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// Sample is one process run: wall time, CPU seconds and peak RSS.
type Sample struct {
	WallSeconds float64 `json:"wall_s"`
	UserSeconds float64 `json:"user_s"`
	SysSeconds  float64 `json:"sys_s"`
	PeakRSSKiB  int64   `json:"peak_rss_kib"`
}

// CPUSeconds is user plus system time.
func (s Sample) CPUSeconds() float64 { return s.UserSeconds + s.SysSeconds }

// measure runs a command to its end and returns its resource use.
func measure(ctx context.Context, env []string, stdin string, name string, args ...string) (Sample, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	started := time.Now()
	err := cmd.Run()
	wall := time.Since(started)
	if err != nil {
		return Sample{}, fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, lastLines(stderr.String(), 5))
	}
	usage := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	return Sample{
		WallSeconds: wall.Seconds(),
		UserSeconds: time.Duration(usage.Utime.Nano()).Seconds(),
		SysSeconds:  time.Duration(usage.Stime.Nano()).Seconds(),
		PeakRSSKiB:  usage.Maxrss,
	}, nil
}

func lastLines(text string, n int) string {
	lines := strings.Split(strings.TrimSpace(text), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// sum adds samples of processes run one after another: wall and CPU add up,
// peak RSS is the largest.
func sum(samples ...Sample) Sample {
	var total Sample
	for _, s := range samples {
		total.WallSeconds += s.WallSeconds
		total.UserSeconds += s.UserSeconds
		total.SysSeconds += s.SysSeconds
		total.PeakRSSKiB = max(total.PeakRSSKiB, s.PeakRSSKiB)
	}
	return total
}
