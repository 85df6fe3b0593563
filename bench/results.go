package main

import (
	"fmt"
	"io"
	"sort"
	"time"
)

// Results is one benchmark run, written as JSON for comparison between commits.
type Results struct {
	Commit    string             `json:"commit"`
	Machine   string             `json:"machine"`
	Time      time.Time          `json:"time"`
	Rows      int64              `json:"rows"`
	Runs      int                `json:"runs"`
	Pipelines map[string]*Series `json:"pipelines"`
	Ratios    map[string]float64 `json:"ratios"`
	Memory    *Memory            `json:"memory"`
	Dispatch  *Dispatch          `json:"dispatch,omitempty"`
}

// Series is every measured run of one pipeline.
type Series struct {
	Samples []Sample `json:"samples"`
	// Parts are the legacy pipeline's three processes per run: psql, aws, sftp.
	Parts [][]Sample `json:"parts,omitempty"`
	rows  int64
}

// Memory is batchport's peak RSS at two export sizes.
type Memory struct {
	SmallRows       int64 `json:"small_rows"`
	SmallPeakRSSKiB int64 `json:"small_peak_rss_kib"`
	LargeRows       int64 `json:"large_rows"`
	LargePeakRSSKiB int64 `json:"large_peak_rss_kib"`
}

// Dispatch compares the worker's throughput with a bare SDK loop.
type Dispatch struct {
	Messages          int     `json:"messages"`
	Concurrency       int     `json:"concurrency"`
	Rounds            int     `json:"rounds"`
	BareSeconds       float64 `json:"bare_s"`
	WorkerSeconds     float64 `json:"worker_s"`
	BarePerSecond     float64 `json:"bare_per_s"`
	WorkerPerSecond   float64 `json:"worker_per_s"`
	WorkerToBareRatio float64 `json:"worker_to_bare"`
}

func (s *Series) add(sample Sample, rows int64) {
	s.Samples = append(s.Samples, sample)
	s.rows = rows
}

func (s *Series) addParts(parts []Sample) { s.Parts = append(s.Parts, parts) }

// stat returns the median, minimum and maximum of a field over the samples.
func (s *Series) stat(field func(Sample) float64) (median, low, high float64) {
	values := make([]float64, len(s.Samples))
	for i, sample := range s.Samples {
		values[i] = field(sample)
	}
	sort.Float64s(values)
	n := len(values)
	if n == 0 {
		return 0, 0, 0
	}
	median = values[n/2]
	if n%2 == 0 {
		median = (values[n/2-1] + values[n/2]) / 2
	}
	return median, values[0], values[n-1]
}

func wall(s Sample) float64 { return s.WallSeconds }
func cpu(s Sample) float64  { return s.CPUSeconds() }
func rss(s Sample) float64  { return float64(s.PeakRSSKiB) / 1024 }

func (r *Results) computeRatios() {
	psql, _, _ := r.Pipelines[pipelinePsql].stat(wall)
	legacy, _, _ := r.Pipelines[pipelineLegacy].stat(wall)
	port, _, _ := r.Pipelines[pipelineBatchport].stat(wall)
	legacyCPU, _, _ := r.Pipelines[pipelineLegacy].stat(cpu)
	portCPU, _, _ := r.Pipelines[pipelineBatchport].stat(cpu)
	r.Ratios = map[string]float64{
		"batchport_to_legacy_wall": port / legacy,
		"batchport_to_psql_wall":   port / psql,
		"batchport_to_legacy_cpu":  portCPU / legacyCPU,
	}
	if r.Memory != nil && r.Memory.SmallPeakRSSKiB > 0 {
		r.Ratios["rss_large_to_small"] = float64(r.Memory.LargePeakRSSKiB) / float64(r.Memory.SmallPeakRSSKiB)
	}
}

func (r *Results) print(w io.Writer) {
	fmt.Fprintf(w, "\n%s, %d rows, %d runs each, commit %s\n\n", r.Machine, r.Rows, r.Runs, r.Commit)
	fmt.Fprintf(w, "%-12s %22s %22s %22s %14s\n", "pipeline", "wall s (median min-max)", "CPU s (median min-max)", "peak RSS MiB (median)", "rows/s")
	for _, name := range []string{pipelinePsql, pipelineLegacy, pipelineBatchport} {
		s := r.Pipelines[name]
		wm, wl, wh := s.stat(wall)
		cm, cl, ch := s.stat(cpu)
		rm, _, _ := s.stat(rss)
		fmt.Fprintf(w, "%-12s %8.2f %5.2f-%-6.2f %8.2f %5.2f-%-6.2f %22.1f %14.0f\n", name, wm, wl, wh, cm, cl, ch, rm, float64(s.rows)/wm)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "batchport / legacy, wall: %.2f (target <= 0.60)\n", r.Ratios["batchport_to_legacy_wall"])
	fmt.Fprintf(w, "batchport / psql \\copy, wall: %.2f (target <= 2.00)\n", r.Ratios["batchport_to_psql_wall"])
	fmt.Fprintf(w, "batchport / legacy, CPU: %.2f (target <= 0.75)\n", r.Ratios["batchport_to_legacy_cpu"])
	if m := r.Memory; m != nil {
		fmt.Fprintf(w, "peak RSS: %.1f MiB at %d rows, %.1f MiB at %d rows (ratio %.2f; targets <= 64 MiB, ratio <= 1.10)\n",
			float64(m.SmallPeakRSSKiB)/1024, m.SmallRows, float64(m.LargePeakRSSKiB)/1024, m.LargeRows, r.Ratios["rss_large_to_small"])
	}
	r.printDispatch(w)
}

func (r *Results) printDispatch(w io.Writer) {
	if d := r.Dispatch; d != nil {
		fmt.Fprintf(w, "dispatch: %d no-op jobs at concurrency %d, median of %d: worker %.0f/s, bare SDK loop %.0f/s, ratio %.2f (target >= 0.90)\n",
			d.Messages, d.Concurrency, d.Rounds, d.WorkerPerSecond, d.BarePerSecond, d.WorkerToBareRatio)
	}
}
