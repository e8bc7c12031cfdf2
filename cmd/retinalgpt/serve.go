package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/retinalgpt/retinalgpt/internal/analysis"
	"github.com/retinalgpt/retinalgpt/internal/fundus"
	"github.com/retinalgpt/retinalgpt/internal/server"
)

type serveFlags struct {
	rt           runtimeFlags
	addr         string
	token        string
	workers      int
	queue        int
	maxBodyMB    int64
	timeout      time.Duration
	cacheEntries int
	cacheMB      int64
	maxMP        float64
	lesions      bool
	noGate       bool
	store        string
	storeMax     byteSize
	storeMaxAge  time.Duration
	maxUploads   int
	eng          engineFlags
}

func newServeCmd() *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the HTTP API (analyses, overlays, OpenAI-compatible chat, metrics)",
		Long: `Serve RetinalGPT's HTTP API, described by the OpenAPI document at
/openapi.json:

  POST /v1/analyses                     analyse a photo (raw body or multipart field "image")
  GET  /v1/analyses/{id}                its Report
  GET  /v1/analyses/{id}/overlay.png    the photo with overlays (?layers=vessels,av,disc,zones,lesions)
  GET  /v1/analyses/{id}/report.csv     its biomarkers, one AutoMorph-compatible CSV row
  GET  /v1/analyses/{id}/report.html    a printable, self-contained HTML report
  POST /v1/chat/completions             OpenAI-compatible chat, photo as an image_url data URI, "stream": true for SSE
  GET  /healthz, /readyz, /metrics      liveness, models loaded, Prometheus metrics
  GET  /                                the web app: upload, overlays, findings, chat, downloads

It listens on 127.0.0.1:8080 unless --addr says otherwise; beyond loopback
--token is required and every request but /healthz, /readyz,
/openapi.json and the web app's files (/, /static/) must send "Authorization: Bearer TOKEN". Analyses run on a
fixed pool of --workers behind a queue of --queue; beyond it uploads get 429
with Retry-After, and beyond --max-uploads requests carrying a photo get 429
before their body is read. Identical images are analysed once and kept in memory
(--cache-entries, --cache-mb). No image is written to disk unless --store
DIR is given: then each analysed upload, its overlay layers and its Report
are written there (ID.jpg, ID.layers.zip and ID.json, atomically), and the
report, overlay.png, report.csv and report.html are answered from the store
after the cache dropped them or the server restarted, without running the
models. The store keeps at most --store-max-bytes (default 10GiB; 0:
unbounded) and, with --store-max-age, nothing older: the oldest analyses
are removed whole, at start-up and after each write.

The chat (POST /v1/chat/completions and the web app's) is answered by the
built-in responder, or by an LLM with --engine ollama|openai (the same
flags as ask and chat; docs/assistant.md).

Not a medical device: results are for research and must be reviewed by a
qualified clinician.`,
		Example: `  retinalgpt serve
  retinalgpt serve --store /var/lib/retinalgpt
  retinalgpt serve --store /var/lib/retinalgpt --store-max-bytes 2GiB --store-max-age 720h
  retinalgpt serve --engine ollama --model llama3.1
  retinalgpt serve --addr 0.0.0.0:8080 --token "$(openssl rand -hex 16)"
  curl --data-binary @photo.jpg http://127.0.0.1:8080/v1/analyses`,
		Args: checkArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error { return runServe(cmd, f) },
	}
	f.rt.register(cmd)
	f.eng.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&f.addr, "addr", "127.0.0.1:8080", "address to listen on (host:port)")
	fl.StringVar(&f.token, "token", "", "bearer token clients must send (required when --addr is not loopback)")
	fl.IntVar(&f.workers, "workers", 0, "analysis workers (default: CPUs/2, at least 1)")
	fl.IntVar(&f.queue, "queue", server.DefaultQueue, "analyses that may wait for a worker before uploads get 429")
	fl.Int64Var(&f.maxBodyMB, "max-body-mb", server.DefaultMaxBodyBytes>>20, "request body limit in MiB (413 beyond)")
	fl.DurationVar(&f.timeout, "timeout", server.DefaultTimeout, "time limit of one request, its analysis included")
	fl.IntVar(&f.cacheEntries, "cache-entries", server.DefaultCacheEntries, "analyses kept in memory")
	fl.Int64Var(&f.cacheMB, "cache-mb", server.DefaultCacheBytes>>20, "estimated memory of the analyses kept, in MiB")
	fl.Float64Var(&f.maxMP, "max-megapixels", 100, "refuse images larger than this (decompression-bomb guard)")
	fl.BoolVar(&f.lesions, "lesions", false, lesionsFlagHelp)
	fl.BoolVar(&f.noGate, "no-quality-gate", false, noGateFlagHelp)
	fl.IntVar(&f.maxUploads, "max-uploads", 0, "requests carrying a photo (uploads, chat) allowed at once, read or waiting; beyond it 429 before the body is read (default: 2 × (workers + queue))")
	fl.StringVar(&f.store, "store", "", "keep each analysed upload, its overlay layers and its report in this directory (created 0700), and answer from it after a restart; default: nothing is written to disk")
	f.storeMax = server.DefaultStoreMaxBytes
	fl.Var(&f.storeMax, "store-max-bytes", "with --store, the most the store may hold (bytes, or with a unit: 500MiB, 10GiB, 1TiB); the oldest analyses are removed beyond it; 0: unbounded")
	fl.DurationVar(&f.storeMaxAge, "store-max-age", 0, "with --store, remove analyses stored longer ago than this (e.g. 720h); 0: keep them")
	return cmd
}

func runServe(cmd *cobra.Command, f serveFlags) error {
	if v := cmd.Flag("verbose"); v == nil || v.Value.String() != "true" {
		// A server's operational lines (uploads answered, clients gone,
		// the store pruned) are at info level, which the other commands
		// leave out without -v; -v still adds debug (one line per request).
		slog.SetDefault(slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelInfo})))
	}
	if err := server.CheckAddr(f.addr, f.token); err != nil {
		return usageError{err}
	}
	if f.workers < 0 || f.maxUploads < 0 || f.queue < 1 || f.maxBodyMB < 1 || f.timeout <= 0 || f.cacheEntries < 1 || f.cacheMB < 1 {
		return usageError{errors.New("--workers and --max-uploads must be >= 0; --queue, --max-body-mb, --timeout, --cache-entries and --cache-mb must be positive")}
	}
	if f.storeMaxAge < 0 {
		return usageError{errors.New("--store-max-age must be >= 0")}
	}
	if f.store == "" && (cmd.Flags().Changed("store-max-bytes") || cmd.Flags().Changed("store-max-age")) {
		return usageError{errors.New("--store-max-bytes and --store-max-age bound the store: give --store DIR too")}
	}
	engine, err := f.eng.newEngine()
	if err != nil {
		return err
	}
	var store *server.Store
	if f.store != "" {
		store, err = server.OpenStore(f.store, server.StoreConfig{MaxBytes: int64(f.storeMax), MaxAge: f.storeMaxAge})
		if err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return err
	}
	srv := server.New(server.Config{
		Engine: engine, Store: store, MaxUploads: f.maxUploads,
		Token: f.token, Workers: f.workers, Queue: f.queue, MaxBodyBytes: f.maxBodyMB << 20, Timeout: f.timeout,
		CacheEntries: f.cacheEntries, CacheBytes: f.cacheMB << 20,
		Options: analysis.Options{Lesions: f.lesions, NoQualityGate: f.noGate},
		Limits:  fundus.Limits{MaxBytes: f.maxBodyMB << 20, MaxPixels: int64(f.maxMP * 1e6)},
	})
	defer srv.Close()
	if store != nil {
		fmt.Fprintf(cmd.ErrOrStderr(), "retinalgpt: keeping analysed photos and reports in %s (%s%s)\n", store.Dir(), maxNote(f.storeMax), ageNote(f.storeMaxAge))
		if f.storeMaxAge > 0 {
			// Age is checked after each write; this holds it on an idle
			// server too.
			go pruneEvery(cmd.Context(), store, min(max(f.storeMaxAge/10, time.Minute), time.Hour))
		}
	}
	if f.eng.engine != "" && f.eng.engine != "builtin" {
		fmt.Fprintf(cmd.ErrOrStderr(), "retinalgpt: chat answered by %s (model %q)\n", f.eng.engine, f.eng.model)
	}
	return serve(cmd.Context(), cmd, ln, srv, f.rt.analyzer)
}

// serve answers on ln until ctx ends, loading the models in the
// background (/readyz says when they are loaded).
func serve(ctx context.Context, cmd *cobra.Command, ln net.Listener, srv *server.Server, load func() (*analysis.Analyzer, error)) error {
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	loaded := make(chan *analysis.Analyzer, 1)
	go func() {
		an, err := load()
		if err != nil {
			slog.Error("models not loaded; /readyz will say why", "err", err)
			srv.SetAnalyzer(nil, err)
			loaded <- nil
			return
		}
		srv.SetAnalyzer(an, nil)
		slog.Info("models loaded")
		loaded <- an
	}()
	fmt.Fprintf(cmd.ErrOrStderr(), "retinalgpt: serving on http://%s (API description at /openapi.json)\n", ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	var err error
	select {
	case err = <-errc:
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = hs.Shutdown(sctx)
		cancel()
	}
	if an := <-loaded; an != nil {
		srv.Close()
		an.Close()
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

func maxNote(b byteSize) string {
	if b == 0 {
		return "unbounded"
	}
	return "at most " + b.String()
}

func ageNote(d time.Duration) string {
	if d <= 0 {
		return ""
	}
	return ", for " + d.String()
}

// pruneEvery prunes the store every d until ctx ends.
func pruneEvery(ctx context.Context, st *server.Store, d time.Duration) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			st.Prune()
		}
	}
}

// byteSize is a flag holding a number of bytes, given as a plain number
// or with a binary unit (KiB, MiB, GiB, TiB; K, M, G, T and KB, MB, GB,
// TB are read as the same).
type byteSize int64

func (b *byteSize) String() string {
	v := int64(*b)
	if v == 0 {
		return "0"
	}
	for _, u := range []struct {
		name  string
		shift uint
	}{{"TiB", 40}, {"GiB", 30}, {"MiB", 20}, {"KiB", 10}} {
		if v%(1<<u.shift) == 0 {
			return strconv.FormatInt(v>>u.shift, 10) + u.name
		}
	}
	return strconv.FormatInt(v, 10)
}

func (b *byteSize) Set(s string) error {
	num := strings.TrimSpace(s)
	unit := strings.TrimLeft(num, "0123456789.")
	num = strings.TrimSuffix(num, unit)
	var shift uint
	switch strings.ToUpper(strings.TrimSpace(unit)) {
	case "", "B":
	case "K", "KB", "KIB":
		shift = 10
	case "M", "MB", "MIB":
		shift = 20
	case "G", "GB", "GIB":
		shift = 30
	case "T", "TB", "TIB":
		shift = 40
	default:
		return fmt.Errorf("unknown unit %q (use KiB, MiB, GiB or TiB)", unit)
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || v < 0 {
		return fmt.Errorf("%q is not a size (e.g. 500MiB, 10GiB)", s)
	}
	v *= float64(uint64(1) << shift)
	if v > math.MaxInt64/2 {
		return fmt.Errorf("%q is too large", s)
	}
	*b = byteSize(v)
	return nil
}

func (b *byteSize) Type() string { return "size" }
