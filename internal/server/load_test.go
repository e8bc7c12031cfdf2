package server

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/draw"
	"image/jpeg"
	"io"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/retinalgpt/retinalgpt/assets/sample"
	"github.com/retinalgpt/retinalgpt/internal/analysis"
	"github.com/retinalgpt/retinalgpt/internal/infer"
	"github.com/retinalgpt/retinalgpt/internal/infer/infertest"
)

// LoadEnv opts in to TestLoad, which takes minutes and every CPU.
const LoadEnv = "RETINALGPT_LOAD"

// TestLoad measures the server with the real models: a steady run at the
// pool's capacity (analyses per minute, p50/p99 latency of the accepted
// uploads), then a burst of 50 distinct concurrent uploads (201 against
// 429, peak memory, the cache bound), then 50 concurrent uploads to a
// server whose queue holds them all (peak memory with 50 in the pool). Opt in with RETINALGPT_LOAD=1;
// RETINALGPT_LOAD_SECONDS sets the steady run (default 60) and
// RETINALGPT_LOAD_WORKERS the workers (default: the server's).
//
//	RETINALGPT_LOAD=1 go test ./internal/server -run TestLoad -v -timeout 10m
func TestLoad(t *testing.T) {
	if os.Getenv(LoadEnv) == "" {
		t.Skipf("load test: set %s=1 to run it (minutes, all CPUs)", LoadEnv)
	}
	steady := 60 * time.Second
	if v := os.Getenv(LoadEnv + "_SECONDS"); v != "" {
		sec, err := strconv.Atoi(v)
		if err != nil {
			t.Fatalf("%s_SECONDS: %v", LoadEnv, err)
		}
		steady = time.Duration(sec) * time.Second
	}
	var err error
	workers := 0
	if v := os.Getenv(LoadEnv + "_WORKERS"); v != "" {
		if workers, err = strconv.Atoi(v); err != nil {
			t.Fatalf("%s_WORKERS: %v", LoadEnv, err)
		}
	}
	// Threads 0: ONNX Runtime uses every CPU, as `retinalgpt serve` does.
	an, err := analysis.New(analysis.Config{Runtime: infer.Config{}, Version: "load"})
	infertest.SkipIfMissing(t, err)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { an.Close() })
	s, ts := newTest(t, Config{Analyzer: an, Workers: workers}) // every other limit at its default
	cfg := s.cfg
	t.Logf("machine: %d CPUs, load average %s; workers %d, queue %d, cache %d entries / %d MiB, timeout %v",
		runtime.NumCPU(), loadavg(), cfg.Workers, cfg.Queue, cfg.CacheEntries, cfg.CacheBytes>>20, cfg.Timeout)

	const burst = 50
	photos := loadPhotos(t, 200+2*burst)
	held := photos[len(photos)-burst:]
	photos = photos[:len(photos)-burst]
	next := atomic.Int64{}
	photo := func() []byte {
		i := next.Add(1) - 1
		if int(i) >= len(photos) {
			return nil // the steady run stops; the burst reports it
		}
		return photos[i]
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: burst}, Timeout: cfg.Timeout + 30*time.Second}
	post := func(body []byte) (int, string, time.Duration, error) {
		start := time.Now()
		resp, err := client.Post(ts.URL+"/v1/analyses", "image/jpeg", bytes.NewReader(body))
		if err != nil {
			return 0, "", 0, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Retry-After"), time.Since(start), nil
	}
	mem := newMemWatch()
	hwm0, rss0 := procStatus("VmHWM"), procStatus("VmRSS")
	t.Logf("after loading the models: RSS %d MiB, peak RSS %d MiB", rss0>>20, hwm0>>20)

	// (a) Steady: workers+1 clients in a closed loop keep the worker busy
	// with one upload waiting, so no upload is refused.
	clients := cfg.Workers + 1
	var (
		mu        sync.Mutex
		latencies []time.Duration
		others    = map[int]int{}
	)
	ctx, cancel := context.WithTimeout(context.Background(), steady)
	start := time.Now()
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				body := photo()
				if body == nil {
					t.Errorf("steady run used all %d photos; shorten %s_SECONDS", len(photos)-burst, LoadEnv)
					return
				}
				code, _, d, err := post(body)
				mu.Lock()
				if err != nil {
					t.Errorf("steady upload: %v", err)
				} else if code == http.StatusCreated {
					latencies = append(latencies, d)
				} else {
					others[code]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	cancel()
	elapsed := time.Since(start)
	steadyPeak := mem.peakAndReset()
	var service time.Duration
	s.met.mu.Lock()
	if total := s.met.stages["total"]; total != nil && total.count > 0 {
		service = time.Duration(total.seconds / float64(total.count) * float64(time.Second))
	}
	s.met.mu.Unlock()
	perMin := float64(len(latencies)) / elapsed.Minutes()
	p50, p99 := percentile(latencies, 50), percentile(latencies, 99)
	t.Logf("steady: %d clients, %d analyses in %v = %.1f analyses/min; latency p50 %v p99 %v (n=%d); mean analysis %v; other statuses %v; peak RSS %d MiB; load average %s",
		clients, len(latencies), elapsed.Round(time.Second), perMin, p50.Round(10*time.Millisecond), p99.Round(10*time.Millisecond),
		len(latencies), service.Round(10*time.Millisecond), others, steadyPeak>>20, loadavg())
	if len(others) > 0 {
		t.Errorf("steady run refused or failed uploads: %v", others)
	}

	// (b) Burst: 50 distinct uploads at once.
	n0, b0 := s.pool.cacheStats()
	codes := map[int]int{}
	var noRetryAfter, maxHeld atomic.Int64
	done := make(chan struct{})
	go func() { // the most uploads the pool held at once
		for {
			select {
			case <-done:
				return
			case <-time.After(5 * time.Millisecond):
				s.pool.mu.Lock()
				h := int64(len(s.pool.inflight))
				s.pool.mu.Unlock()
				if h > maxHeld.Load() {
					maxHeld.Store(h)
				}
			}
		}
	}()
	var burstLat []time.Duration
	start = time.Now()
	for range burst {
		body := photo()
		if body == nil {
			t.Fatalf("no photos left for the burst")
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, ra, d, err := post(body)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				t.Errorf("burst upload: %v", err)
				return
			}
			codes[code]++
			if code == http.StatusTooManyRequests && ra == "" {
				noRetryAfter.Add(1)
			}
			if code == http.StatusCreated {
				burstLat = append(burstLat, d)
			}
		}()
	}
	wg.Wait()
	close(done)
	burstElapsed := time.Since(start)
	burstPeak := mem.peakAndReset()
	mem.stop()
	n1, b1 := s.pool.cacheStats()
	t.Logf("burst: %d uploads: %d × 201, %d × 429 (%d without Retry-After), other %v; at most %d held (bound %d); all answered in %v, slowest 201 %v; peak RSS %d MiB; load average %s",
		burst, codes[201], codes[429], noRetryAfter.Load(), others, maxHeld.Load(), cfg.Workers+cfg.Queue,
		burstElapsed.Round(100*time.Millisecond), percentile(burstLat, 100).Round(10*time.Millisecond), burstPeak>>20, loadavg())
	t.Logf("cache: %d entries / %d MiB before the burst, %d / %d MiB after (bounds %d / %d MiB); %.1f MiB per analysis",
		n0, b0>>20, n1, b1>>20, cfg.CacheEntries, cfg.CacheBytes>>20, float64(b1)/float64(max(n1, 1))/(1<<20))
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	t.Logf("memory: peak RSS of the process %d MiB (models loaded: %d MiB); now RSS %d MiB, Go heap in use %d MiB, held from the OS %d MiB",
		procStatus("VmHWM")>>20, rss0>>20, procStatus("VmRSS")>>20, ms.HeapInuse>>20, (ms.HeapSys-ms.HeapReleased)>>20)
	runtime.GC()
	debug.FreeOSMemory()
	runtime.ReadMemStats(&ms)
	t.Logf("memory after a GC: RSS %d MiB, Go heap in use %d MiB (the rest of the RSS is outside the Go heap: ONNX Runtime, stacks, code)",
		procStatus("VmRSS")>>20, ms.HeapInuse>>20)
	if codes[201]+codes[429] != burst || codes[429] == 0 || noRetryAfter.Load() > 0 {
		t.Errorf("burst answers: %v, want only 201 and 429 (with Retry-After), some 429", codes)
	}
	if h := maxHeld.Load(); h > int64(cfg.Workers+cfg.Queue) {
		t.Errorf("%d uploads held at once, bound %d", h, cfg.Workers+cfg.Queue)
	}
	if n1 > cfg.CacheEntries || (n1 > 1 && b1 > cfg.CacheBytes) {
		t.Errorf("cache %d entries / %d bytes beyond its bounds", n1, b1)
	}
	peakAll := procStatus("VmHWM")

	// (c) Held: 50 concurrent uploads to a server told to hold them all
	// (--queue 50, a timeout long enough for the last one), so that all 50
	// are in the pool at once: what 50 concurrent uploads cost in memory.
	// The first server's cache is emptied first, so the peak is this
	// phase's own; VmHWM is reset (clear_refs 5) where the kernel allows.
	s.pool.mu.Lock()
	s.pool.lru.Init()
	clear(s.pool.byID)
	s.pool.bytes = 0
	s.pool.mu.Unlock()
	runtime.GC()
	debug.FreeOSMemory()
	base := procStatus("VmRSS")
	hwmReset := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
	s2, ts2 := newTest(t, Config{Analyzer: an, Workers: workers, Queue: burst, Timeout: 15 * time.Minute})
	cfg2 := s2.cfg
	client2 := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: burst}, Timeout: cfg2.Timeout + 30*time.Second}
	mem = newMemWatch()
	heldCodes := map[int]int{}
	var heldLat []time.Duration
	var maxHeld2 atomic.Int64
	done2 := make(chan struct{})
	go func() {
		for {
			select {
			case <-done2:
				return
			case <-time.After(5 * time.Millisecond):
				s2.pool.mu.Lock()
				h := int64(len(s2.pool.inflight))
				s2.pool.mu.Unlock()
				if h > maxHeld2.Load() {
					maxHeld2.Store(h)
				}
			}
		}
	}()
	start = time.Now()
	for _, body := range held {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t0 := time.Now()
			resp, err := client2.Post(ts2.URL+"/v1/analyses", "image/jpeg", bytes.NewReader(body))
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				t.Errorf("held upload: %v", err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			heldCodes[resp.StatusCode]++
			if resp.StatusCode == http.StatusCreated {
				heldLat = append(heldLat, time.Since(t0))
			}
		}()
	}
	wg.Wait()
	close(done2)
	heldElapsed := time.Since(start)
	heldPeak := mem.peakAndReset()
	mem.stop()
	heldHWM := procStatus("VmHWM")
	n2, b2 := s2.pool.cacheStats()
	heldPerMin := float64(heldCodes[201]) / heldElapsed.Minutes()
	hp50, hp99 := percentile(heldLat, 50), percentile(heldLat, 99)
	t.Logf("held: %d concurrent uploads, queue %d: %v; at most %d held at once; all answered in %v = %.1f analyses/min; latency p50 %v p99 %v; RSS before %d MiB, peak RSS sampled %d MiB, VmHWM %d MiB (reset: %v); cache %d entries / %d MiB; load average %s",
		burst, cfg2.Queue, heldCodes, maxHeld2.Load(), heldElapsed.Round(100*time.Millisecond), heldPerMin, hp50.Round(10*time.Millisecond), hp99.Round(10*time.Millisecond),
		base>>20, heldPeak>>20, heldHWM>>20, hwmReset, n2, b2>>20, loadavg())
	if heldCodes[201] != burst {
		t.Errorf("held phase: %v, want %d × 201", heldCodes, burst)
	}
	fmt.Printf("LOAD cpus=%d workers=%d analyses_per_min=%.1f p50=%v p99=%v burst_201=%d burst_429=%d peak_rss_mib=%d held50_per_min=%.1f held50_p50=%v held50_p99=%v held50_peak_rss_mib=%d\n",
		runtime.NumCPU(), cfg.Workers, perMin, p50.Round(10*time.Millisecond), p99.Round(10*time.Millisecond),
		codes[201], codes[429], peakAll>>20, heldPerMin, hp50.Round(10*time.Millisecond), hp99.Round(10*time.Millisecond), max(heldHWM, heldPeak)>>20)
}

// loadPhotos makes n distinct photos from the bundled sample: each is
// cropped by a few pixels (0–7 on the left and top) and, past 64, has a
// small patch brightened, then re-encoded; all pass the quality gate as
// the sample does.
func loadPhotos(t *testing.T, n int) [][]byte {
	src, err := jpeg.Decode(bytes.NewReader(sample.Photo()))
	if err != nil {
		t.Fatal(err)
	}
	b := src.Bounds()
	base := image.NewNRGBA(b)
	draw.Draw(base, b, src, b.Min, draw.Src)
	out := make([][]byte, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.NumCPU())
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			dx, dy := i%8, (i/8)%8
			img := image.NewNRGBA(image.Rect(0, 0, b.Dx()-dx, b.Dy()-dy))
			draw.Draw(img, img.Bounds(), base, image.Pt(dx, dy), draw.Src)
			if k := i / 64; k > 0 {
				cx, cy := img.Bounds().Dx()/2, img.Bounds().Dy()/2
				for y := cy; y < cy+8; y++ {
					for x := cx + 8*k; x < cx+8*k+8; x++ {
						o := img.PixOffset(x, y)
						img.Pix[o] = min(img.Pix[o]+8, 255)
					}
				}
			}
			var buf bytes.Buffer
			if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 92}); err != nil {
				t.Error(err)
			}
			out[i] = buf.Bytes()
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	for i, p := range out {
		h := sha256Hex(p)
		if seen[h] {
			t.Fatalf("photo %d repeats an earlier one", i)
		}
		seen[h] = true
	}
	return out
}

func percentile(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100 // nearest rank
	return s[min(max(i, 1), len(s))-1]
}

// procStatus reads a "kB" field of /proc/self/status in bytes (0 where
// there is none, as off Linux).
func procStatus(field string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			f := strings.Fields(v)
			if len(f) > 0 {
				kb, _ := strconv.ParseInt(f[0], 10, 64)
				return kb << 10
			}
		}
	}
	return 0
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:min(3, len(f))], " ")
}

// memWatch samples the RSS every 50 ms and keeps the peak of a phase.
type memWatch struct {
	peak atomic.Int64
	quit chan struct{}
}

func newMemWatch() *memWatch {
	m := &memWatch{quit: make(chan struct{})}
	go func() {
		for {
			select {
			case <-m.quit:
				return
			case <-time.After(50 * time.Millisecond):
				if r := procStatus("VmRSS"); r > m.peak.Load() {
					m.peak.Store(r)
				}
			}
		}
	}()
	return m
}

func (m *memWatch) peakAndReset() int64 { return m.peak.Swap(procStatus("VmRSS")) }
func (m *memWatch) stop()               { close(m.quit) }
