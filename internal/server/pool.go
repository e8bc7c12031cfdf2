package server

import (
	"bytes"
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/retinalgpt/retinalgpt/internal/analysis"
	"github.com/retinalgpt/retinalgpt/internal/fundus"
	"github.com/retinalgpt/retinalgpt/internal/overlay"
	"github.com/retinalgpt/retinalgpt/internal/report"
)

// Analyzer is what the server needs of analysis.Analyzer: a photo in, a
// Result out, safe for concurrent use. Tests substitute a fake.
type Analyzer interface {
	Analyze(ctx context.Context, img *fundus.Image, opt analysis.Options) (*analysis.Result, error)
}

var (
	errQueueFull = errors.New("the analysis queue is full; retry later")
	errNotFound  = errors.New("no analysis with this id (never made, or evicted from the cache)")
	errNotReady  = errors.New("the models are not loaded yet")
)

// entry is a finished analysis kept in the cache: the Report and what the
// overlay needs, not the whole Result (the probability map and the
// normalized image are dropped to save memory).
type entry struct {
	id, sha string
	report  *report.Report
	photo   *image.NRGBA
	scene   overlay.Scene
	cost    int64
	elem    *list.Element
}

// call is one analysis in the queue or running; requests for the same
// image wait on it. Its context is its own, cancelled when every waiting
// request has gone (or at the timeout), so one client leaving does not
// fail another's identical upload.
type call struct {
	sha, name string
	data      []byte
	ctx       context.Context
	cancel    context.CancelFunc
	waiters   int
	done      chan struct{}
	entry     *entry
	err       error
	// stored, when set, is an analysis read from the store with its
	// layers: the call rebuilds its entry (decodes the photo, reads the
	// layers) instead of running the models.
	stored *storedAnalysis
}

// pool is the workers, the queue, the in-flight calls and the cache.
type pool struct {
	ready      atomic.Pointer[readiness]
	opt        analysis.Options
	lim        fundus.Limits
	timeout    time.Duration
	jobs       chan *call
	running    atomic.Int64
	workers    int
	meanNs     atomic.Int64 // moving average of analysis wall time, for Retry-After
	maxEntries int
	maxBytes   int64
	met        *metrics
	store      *Store       // nil: nothing is written to disk
	log        *slog.Logger // for store failures

	mu        sync.Mutex
	inflight  map[string]*call  // by full SHA-256
	byID      map[string]*entry // by id (the first 16 hex digits)
	lru       *list.List        // of *entry, most recent first
	bytes     int64
	stop      chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup
}

// readiness is the analyzer once loaded, or why it could not be.
type readiness struct {
	an  Analyzer
	err error
}

func newPool(workers, queue, maxEntries int, maxBytes int64, timeout time.Duration, opt analysis.Options, lim fundus.Limits, met *metrics) *pool {
	p := &pool{
		opt: opt, lim: lim, timeout: timeout, jobs: make(chan *call, queue), workers: workers,
		maxEntries: maxEntries, maxBytes: maxBytes, met: met,
		inflight: map[string]*call{}, byID: map[string]*entry{}, lru: list.New(), stop: make(chan struct{}),
	}
	p.ready.Store(&readiness{err: errNotReady})
	for range workers {
		p.wg.Add(1)
		go p.work()
	}
	return p
}

func (p *pool) close() {
	p.closeOnce.Do(func() { close(p.stop) })
	p.wg.Wait()
}

func (p *pool) analyzer() (Analyzer, error) {
	r := p.ready.Load()
	return r.an, r.err
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// get returns a cached analysis by id.
func (p *pool) get(id string) (*entry, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	e, ok := p.byID[id]
	if !ok || p.drop(e) {
		return nil, errNotFound
	}
	p.lru.MoveToFront(e.elem)
	return e, nil
}

// drop removes e from the cache when the store's age bound
// (--store-max-age) has passed since its analysis, and reports whether it
// did (p.mu held): the bound is a retention promise, which the memory
// cache must keep too.
func (p *pool) drop(e *entry) bool {
	if p.store == nil || e.report == nil || !p.store.expired(e.report.CreatedAt) {
		return false
	}
	p.lru.Remove(e.elem)
	delete(p.byID, e.id)
	p.bytes -= e.cost
	return true
}

// analyze returns the analysis of data: from the cache, by joining the
// same image's call in flight, or by queueing a new call (errQueueFull
// when the queue is full). created says a new analysis was made for it.
func (p *pool) analyze(ctx context.Context, data []byte, name string) (e *entry, created bool, err error) {
	if _, err := p.analyzer(); err != nil {
		return nil, false, err
	}
	if err := checkHeader(data, p.lim); err != nil {
		return nil, false, err
	}
	return p.enqueue(ctx, &call{sha: sha256Hex(data), name: name, data: data})
}

// checkHeader refuses, before an upload takes a place in the queue, what
// the worker's decoder would refuse from the header alone: no bytes, an
// unknown format, a header that does not parse, or more pixels than the
// limit. It reads the header only; the worker still decodes it all.
func checkHeader(data []byte, lim fundus.Limits) (err error) {
	if len(data) == 0 {
		return fmt.Errorf("upload: %w", fundus.ErrEmpty)
	}
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("upload: %w: decoder panic: %v", fundus.ErrCorrupt, v)
		}
	}()
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if errors.Is(err, image.ErrFormat) {
		return fmt.Errorf("upload: %w: unknown signature", fundus.ErrUnsupported)
	}
	if err != nil {
		return fmt.Errorf("upload: %w: %s header: %v", fundus.ErrCorrupt, format, err)
	}
	maxPixels := lim.MaxPixels
	if maxPixels <= 0 {
		maxPixels = fundus.DefaultMaxPixels
	}
	w, h := int64(cfg.Width), int64(cfg.Height)
	if w <= 0 || h <= 0 {
		return fmt.Errorf("upload: %w: header says %dx%d", fundus.ErrCorrupt, w, h)
	}
	if w > maxPixels || h > maxPixels || w*h > maxPixels {
		return fmt.Errorf("upload: %w: %dx%d exceeds %d pixels", fundus.ErrTooLarge, w, h, maxPixels)
	}
	return nil
}

// restore makes a stored analysis with layers ready to draw, through the
// queue like an analysis (the photo's decoding is bounded the same way),
// but without the models: it needs no analyzer.
func (p *pool) restore(ctx context.Context, a *storedAnalysis) (*entry, error) {
	sha := sha256Hex(a.photo)
	if a.report.ID != sha[:16] {
		return nil, fmt.Errorf("store: the stored photo of %s does not match its report", a.report.ID)
	}
	e, _, err := p.enqueue(ctx, &call{sha: sha, name: a.report.Image.File, data: a.photo, stored: a})
	return e, err
}

// enqueue answers c from the cache, joins the call in flight for the same
// image, or queues c.
func (p *pool) enqueue(ctx context.Context, c *call) (e *entry, created bool, err error) {
	sha := c.sha
	p.mu.Lock()
	if e, ok := p.byID[sha[:16]]; ok && e.sha == sha && !p.drop(e) {
		p.lru.MoveToFront(e.elem)
		p.mu.Unlock()
		p.met.cacheHit()
		return e, false, nil
	}
	if joined, ok := p.inflight[sha]; ok {
		c = joined
		c.waiters++
		p.met.cacheHit()
		p.mu.Unlock()
		return p.wait(ctx, c, false)
	}
	c.ctx, c.cancel = context.WithTimeout(context.Background(), p.timeout)
	c.waiters, c.done = 1, make(chan struct{})
	select {
	case p.jobs <- c:
		p.inflight[sha] = c
	default:
		p.mu.Unlock()
		c.cancel()
		return nil, false, errQueueFull
	}
	p.mu.Unlock()
	return p.wait(ctx, c, true)
}

// wait waits for c, or gives up at ctx's end, cancelling c when no one
// else waits for it.
func (p *pool) wait(ctx context.Context, c *call, created bool) (*entry, bool, error) {
	select {
	case <-c.done:
		return c.entry, created && c.stored == nil, c.err
	case <-ctx.Done():
		p.mu.Lock()
		c.waiters--
		if c.waiters == 0 {
			c.cancel() // nobody wants it any more: free the worker
			if p.inflight[c.sha] == c {
				delete(p.inflight, c.sha)
			}
		}
		p.mu.Unlock()
		return nil, false, ctx.Err()
	}
}

func (p *pool) queueDepth() int { return len(p.jobs) }

// observe folds one analysis time into the moving average (weight 1/8).
func (p *pool) observe(d time.Duration) {
	for {
		old := p.meanNs.Load()
		next := int64(d)
		if old > 0 {
			next = old + (int64(d)-old)/8
		}
		if p.meanNs.CompareAndSwap(old, next) {
			return
		}
	}
}

// retryAfter is how long the work already waiting should take to drain:
// the queue plus the running analyses, times the mean analysis time,
// shared by the workers; fallback until an analysis has been timed.
func (p *pool) retryAfter(fallback time.Duration) time.Duration {
	mean := time.Duration(p.meanNs.Load())
	if mean <= 0 || p.workers <= 0 {
		return fallback
	}
	wait := time.Duration(p.queueDepth()+int(p.running.Load())) * mean / time.Duration(p.workers)
	return min(max(wait, time.Second), 2*time.Minute)
}

func (p *pool) work() {
	defer p.wg.Done()
	for {
		select {
		case <-p.stop:
			return
		case c := <-p.jobs:
			p.run(c)
		}
	}
}

func (p *pool) run(c *call) {
	var e *entry
	err := c.ctx.Err()
	if err == nil && c.stored != nil {
		e, err = p.restoreBytes(c)
		p.met.restored(err)
	} else if err == nil {
		p.running.Add(1)
		start := time.Now()
		var res *analysis.Result
		res, err = p.analyzeBytes(c)
		p.running.Add(-1)
		took := time.Since(start)
		p.met.analysis(res, err, took)
		if err == nil {
			p.observe(took)
		}
		if err == nil {
			e = newEntry(c.sha, res)
			p.save(c, e)
		}
	}
	p.mu.Lock()
	if p.inflight[c.sha] == c {
		delete(p.inflight, c.sha)
	}
	if e != nil {
		e = p.insert(e)
	}
	c.entry, c.err = e, err
	close(c.done)
	p.mu.Unlock()
	c.cancel()
}

// save writes a new analysis to the store, when there is one. A failure
// is logged and counted, and the analysis is still answered.
func (p *pool) save(c *call, e *entry) {
	if p.store == nil || e.report == nil {
		return
	}
	var scene *overlay.Scene
	var bounds image.Rectangle
	if e.photo != nil {
		scene, bounds = &e.scene, e.photo.Bounds()
	}
	err := p.store.Put(c.data, e.report, scene, bounds)
	p.met.stored(err)
	if err != nil && p.log != nil {
		p.log.Error("analysis not stored", "id", e.id, "err", err)
	}
}

// analyzeBytes decodes (the upload's validation, done by a worker so that
// its CPU is bounded too) and analyses.
func (p *pool) analyzeBytes(c *call) (res *analysis.Result, err error) {
	defer func() {
		if v := recover(); v != nil {
			res, err = nil, fmt.Errorf("analysis panicked: %v", v)
		}
	}()
	an, err := p.analyzer()
	if err != nil {
		return nil, err
	}
	img, err := fundus.Decode(bytes.NewReader(c.data), c.name, p.lim)
	if err != nil {
		return nil, err
	}
	return an.Analyze(c.ctx, img, p.opt)
}

// restoreBytes decodes a stored photo and reads its layers: what the
// overlay draws, as it was drawn before (the same decoder, the same
// masks).
func (p *pool) restoreBytes(c *call) (e *entry, err error) {
	defer func() {
		if v := recover(); v != nil {
			e, err = nil, fmt.Errorf("restore panicked: %v", v)
		}
	}()
	img, err := fundus.Decode(bytes.NewReader(c.data), c.name, p.lim)
	if err != nil {
		return nil, fmt.Errorf("store: the stored photo of %s: %w", c.stored.report.ID, err)
	}
	s, err := decodeLayers(c.stored.layers, img.Pix.Bounds())
	if err != nil {
		return nil, err
	}
	return restoredEntry(c.sha, c.stored.report, img.Pix, s), nil
}

// insert adds e to the cache (p.mu held), evicting the least recently
// used entries beyond the entry and byte bounds, and returns the cached
// entry (an existing one for the same id wins).
func (p *pool) insert(e *entry) *entry {
	if old, ok := p.byID[e.id]; ok {
		p.lru.MoveToFront(old.elem)
		return old
	}
	e.elem = p.lru.PushFront(e)
	p.byID[e.id] = e
	p.bytes += e.cost
	for p.lru.Len() > 1 && (p.lru.Len() > p.maxEntries || p.bytes > p.maxBytes) {
		old := p.lru.Remove(p.lru.Back()).(*entry)
		delete(p.byID, old.id)
		p.bytes -= old.cost
	}
	return e
}

// cacheStats returns the number of cached analyses and their estimated
// bytes.
func (p *pool) cacheStats() (int, int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lru.Len(), p.bytes
}
