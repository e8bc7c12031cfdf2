package server

import (
	"context"
	"crypto/subtle"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"image/png"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"path"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/retinalgpt/retinalgpt/internal/analysis"
	"github.com/retinalgpt/retinalgpt/internal/assistant"
	"github.com/retinalgpt/retinalgpt/internal/fundus"
	"github.com/retinalgpt/retinalgpt/internal/infer"
	"github.com/retinalgpt/retinalgpt/internal/overlay"
)

// Defaults used where a Config field is zero.
const (
	DefaultQueue        = 8
	DefaultMaxBodyBytes = 50 << 20
	DefaultTimeout      = 2 * time.Minute
	DefaultCacheEntries = 64
	DefaultCacheBytes   = 1 << 30
	DefaultRetryAfter   = 5 * time.Second
)

// Config sets up a Server; the zero value is usable (the analyzer is set
// later with SetAnalyzer, until then /readyz and uploads answer 503).
type Config struct {
	Analyzer     Analyzer         // nil: set later with SetAnalyzer
	Engine       assistant.Engine // chat engine; nil: the built-in responder
	Token        string           // bearer token; empty: no auth
	Workers      int              // analysis workers; 0: runtime.NumCPU()/2, at least 1
	Queue        int              // analyses that may wait; 0: DefaultQueue
	MaxBodyBytes int64            // request body limit; 0: DefaultMaxBodyBytes
	Timeout      time.Duration    // per request and per analysis; 0: DefaultTimeout
	CacheEntries int              // analyses kept; 0: DefaultCacheEntries
	CacheBytes   int64            // estimated memory of analyses kept; 0: DefaultCacheBytes
	RetryAfter   time.Duration    // fixed Retry-After on 429 and 503; 0: on 429 the measured time to drain the queue (DefaultRetryAfter until an analysis has been timed)
	Options      analysis.Options // per-photo analysis options
	Limits       fundus.Limits    // decode limits
	Logger       *slog.Logger     // nil: slog.Default()
	Model        string           // the model name chat completions report; "": "retinalgpt"
	// MaxUploads bounds the requests that carry a photo (uploads, chat)
	// being read or waiting at once, so that their bodies take at most
	// MaxUploads × MaxBodyBytes; beyond it they get 429 before their body
	// is read. 0: 2 × (Workers + Queue).
	MaxUploads int
	// Store keeps each analysed upload and its Report on disk, and
	// answers for analyses no longer in the cache; nil: nothing is
	// written to disk.
	Store *Store
}

// Server is the HTTP API. Close stops its workers.
type Server struct {
	cfg     Config
	pool    *pool
	met     *metrics
	log     *slog.Logger
	workers int
	uploads chan struct{} // a slot per request with a photo body (Config.MaxUploads)
	handler http.Handler
}

// errTooManyUploads refuses a request with a photo beyond MaxUploads.
var errTooManyUploads = errors.New("too many uploads in progress; retry later")

// admit takes an upload slot, or says there is none (the caller answers
// 429 without reading the body); release gives it back.
func (s *Server) admit() (release func(), err error) {
	select {
	case s.uploads <- struct{}{}:
		return func() { <-s.uploads }, nil
	default:
		return nil, errTooManyUploads
	}
}

// refuse answers a request whose body will not be read: the connection
// is closed after the answer, so the server does not drain the body
// first (net/http reads up to 256 KiB of an unread body before replying).
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, err error) {
	w.Header().Set("Connection", "close")
	s.fail(w, r, err)
}

// New starts the workers and builds the routes.
func New(cfg Config) *Server {
	if cfg.Workers <= 0 {
		cfg.Workers = max(runtime.NumCPU()/2, 1)
	}
	if cfg.Queue <= 0 {
		cfg.Queue = DefaultQueue
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.CacheEntries <= 0 {
		cfg.CacheEntries = DefaultCacheEntries
	}
	if cfg.CacheBytes <= 0 {
		cfg.CacheBytes = DefaultCacheBytes
	}
	if cfg.Engine == nil {
		cfg.Engine = assistant.NewBuiltin(nil)
	}
	if cfg.Model == "" {
		cfg.Model = "retinalgpt"
	}
	if cfg.MaxUploads <= 0 {
		cfg.MaxUploads = 2 * (cfg.Workers + cfg.Queue)
	}
	s := &Server{cfg: cfg, met: newMetrics(), log: cfg.Logger, workers: cfg.Workers, uploads: make(chan struct{}, cfg.MaxUploads)}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.pool = newPool(cfg.Workers, cfg.Queue, cfg.CacheEntries, cfg.CacheBytes, cfg.Timeout, cfg.Options, cfg.Limits, s.met)
	s.pool.store, s.pool.log = cfg.Store, s.log
	if cfg.Analyzer != nil {
		s.SetAnalyzer(cfg.Analyzer, nil)
	}
	mux := http.NewServeMux()
	s.route(mux, "GET /healthz", s.healthz)
	s.route(mux, "GET /readyz", s.readyz)
	s.route(mux, "GET /metrics", s.metrics)
	s.route(mux, "GET /openapi.json", s.openapi)
	s.route(mux, "POST /v1/analyses", s.postAnalysis)
	s.route(mux, "GET /v1/analyses/{id}", s.getAnalysis)
	s.route(mux, "GET /v1/analyses/{id}/overlay.png", s.getOverlay)
	s.route(mux, "GET /v1/analyses/{id}/report.csv", s.getReportCSV)
	s.route(mux, "GET /v1/analyses/{id}/report.html", s.getReportHTML)
	s.route(mux, "POST /v1/chat/completions", s.chatCompletions)
	web := webHandler()
	s.route(mux, "GET /{$}", web.ServeHTTP)
	s.route(mux, "GET /static/", web.ServeHTTP)
	s.handler = s.recoverer(s.auth(mux))
	return s
}

// SetAnalyzer makes the server ready with an (or fails readiness with
// err, the reason the models could not be loaded).
func (s *Server) SetAnalyzer(an Analyzer, err error) {
	if an == nil && err == nil {
		err = errNotReady
	}
	s.pool.ready.Store(&readiness{an: an, err: err})
}

// Handler is the API with auth, panic recovery and metrics.
func (s *Server) Handler() http.Handler { return s.handler }

// Close stops the workers; requests in flight get no answer from them.
func (s *Server) Close() { s.pool.close() }

// IsLoopback says whether addr (host:port) listens on loopback only.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// CheckAddr refuses to serve beyond loopback without a token.
func CheckAddr(addr, token string) error {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return fmt.Errorf("address %q: %w", addr, err)
	}
	if token == "" && !IsLoopback(addr) {
		return fmt.Errorf("address %s is reachable beyond this machine: give --token (clients then send \"Authorization: Bearer TOKEN\"), or listen on 127.0.0.1", addr)
	}
	return nil
}

// route registers h and counts its requests by pattern and status.
func (s *Server) route(mux *http.ServeMux, pattern string, h http.HandlerFunc) {
	mux.Handle(pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		defer func() {
			code := rec.code
			if code == 0 {
				code = http.StatusOK
			}
			d := time.Since(start)
			s.met.request(pattern, code, d)
			// The route pattern, never the URL's query or any content.
			s.log.LogAttrs(r.Context(), slog.LevelDebug, "request", slog.String("route", pattern),
				slog.Int("status", code), slog.Duration("took", d))
		}()
		h(rec, r)
	}))
}

// public routes need no token (probes, the API description and the web
// app's static files, which hold no data: the page asks for the token).
var public = map[string]bool{"/healthz": true, "/readyz": true, "/openapi.json": true, "/": true}

func isPublic(p string) bool { return public[p] || strings.HasPrefix(p, "/static/") }

func (s *Server) auth(next http.Handler) http.Handler {
	if s.cfg.Token == "" {
		return next
	}
	want := []byte("Bearer " + s.cfg.Token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !isPublic(r.URL.Path) && subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="retinalgpt"`)
			writeError(w, http.StatusUnauthorized, "unauthorized", "missing or wrong bearer token (send \"Authorization: Bearer TOKEN\")", nil)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("panic serving request", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				writeError(w, http.StatusInternalServerError, "internal", "internal error", nil)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// apiError is the body of every error answer.
type apiError struct {
	Error struct {
		Code    string   `json:"code"`
		Message string   `json:"message"`
		Reasons []string `json:"reasons,omitempty"`
	} `json:"error"`
}

func writeError(w http.ResponseWriter, status int, code, msg string, reasons []string) {
	var e apiError
	e.Error.Code, e.Error.Message, e.Error.Reasons = code, msg, reasons
	writeJSON(w, status, e)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// errClientGone is the status logged when the client left (nginx's 499).
const errClientGone = 499

// errorStatus maps an error to its HTTP status, error code and reasons:
// the one place where errors become statuses.
func errorStatus(err error) (int, string, []string) {
	var mbe *http.MaxBytesError
	if nf, ok := analysis.IsNotFundus(err); ok {
		return http.StatusUnprocessableEntity, "not_fundus", nf.Reasons
	}
	switch {
	case errors.As(err, &mbe), errors.Is(err, fundus.ErrTooLarge):
		return http.StatusRequestEntityTooLarge, "too_large", nil
	case errors.Is(err, fundus.ErrEmpty), errors.Is(err, fundus.ErrCorrupt), errors.Is(err, fundus.ErrUnsupported):
		return http.StatusBadRequest, "bad_image", nil
	case errors.Is(err, errBadRequest):
		return http.StatusBadRequest, "bad_request", nil
	case errors.Is(err, errNotFound):
		return http.StatusNotFound, "not_found", nil
	case errors.Is(err, errQueueFull):
		return http.StatusTooManyRequests, "queue_full", nil
	case errors.Is(err, errTooManyUploads):
		return http.StatusTooManyRequests, "too_many_uploads", nil
	case errors.Is(err, errNotReady), errors.Is(err, infer.ErrRuntimeMissing):
		return http.StatusServiceUnavailable, "not_ready", nil
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout, "timeout", nil
	case errors.Is(err, context.Canceled):
		return errClientGone, "cancelled", nil
	}
	return http.StatusInternalServerError, "internal", nil
}

// errBadRequest marks a malformed request (not an image problem).
var errBadRequest = errors.New("bad request")

func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, code, reasons := errorStatus(err)
	msg := err.Error()
	switch status {
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		after := s.cfg.RetryAfter
		if after <= 0 {
			after = DefaultRetryAfter
			if status == http.StatusTooManyRequests {
				after = s.pool.retryAfter(DefaultRetryAfter)
			}
		}
		w.Header().Set("Retry-After", strconv.Itoa(int((after+time.Second-1)/time.Second)))
	case http.StatusInternalServerError:
		s.log.Error("request failed", "path", r.URL.Path, "err", err)
		msg = "internal error"
	case errClientGone:
		s.log.Info("client went away", "path", r.URL.Path)
	}
	writeError(w, status, code, msg, reasons)
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if _, err := s.pool.analyzer(); err != nil {
		s.fail(w, r, fmt.Errorf("%w: %w", errNotReady, err))
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

func (s *Server) metrics(w http.ResponseWriter, r *http.Request) {
	n, b := s.pool.cacheStats()
	_, err := s.pool.analyzer()
	g := gauges{
		queueDepth: s.pool.queueDepth(), queueCapacity: s.cfg.Queue, workers: s.workers,
		running: int(s.pool.running.Load()), cacheEntries: n, cacheBytes: b, ready: err == nil,
		uploads: len(s.uploads), maxUploads: cap(s.uploads),
	}
	if s.cfg.Store != nil {
		st := s.cfg.Store.Stats()
		g.store = &st
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	_ = s.met.write(w, g)
}

//go:embed openapi.json
var openapiJSON []byte

func (s *Server) openapi(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(openapiJSON)
}

// readUpload reads the image of a request: the multipart field "image",
// or the raw body. The body is already limited.
func readUpload(r *http.Request) ([]byte, string, error) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "multipart/form-data" {
		b, err := io.ReadAll(r.Body)
		name := r.URL.Query().Get("name")
		if name == "" {
			name = "upload"
		}
		return b, path.Base(name), err
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, "", fmt.Errorf("%w: %w", errBadRequest, err)
	}
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return nil, "", fmt.Errorf("%w: no multipart field \"image\"", errBadRequest)
		}
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return nil, "", err
			}
			return nil, "", fmt.Errorf("%w: %w", errBadRequest, err)
		}
		if p.FormName() != "image" {
			continue
		}
		b, err := io.ReadAll(p)
		name := p.FileName()
		if name == "" {
			name = "upload"
		}
		return b, path.Base(name), err
	}
}

// submit analyses an upload within the request's timeout.
func (s *Server) submit(ctx context.Context, data []byte, name string) (*entry, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	return s.pool.analyze(ctx, data, name)
}

func (s *Server) postAnalysis(w http.ResponseWriter, r *http.Request) {
	release, err := s.admit()
	if err != nil {
		s.refuse(w, r, err)
		return
	}
	defer release()
	r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
	data, name, err := readUpload(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	e, created, err := s.submit(r.Context(), data, name)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/analyses/"+e.id)
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	// The id and the outcome only: no file name, no image content.
	s.log.Info("analysis", "id", e.id, "created", created, "bytes", len(data))
	writeJSON(w, status, e.report)
}

// lookup finds an analysis by id: in the cache, else in the store. With
// photo (the overlay, the printable report) a stored analysis is made
// ready to draw, through the queue, which puts it back in the cache: from
// its stored layers without running the models, or, for an entry stored
// without layers (or with unusable ones), by analysing its stored upload
// again. Without photo the stored Report alone is enough.
func (s *Server) lookup(r *http.Request, id string, photo bool) (*entry, error) {
	e, err := s.pool.get(id)
	if err == nil || s.cfg.Store == nil || !errors.Is(err, errNotFound) {
		return e, err
	}
	a, err := s.cfg.Store.load(id, photo)
	if err != nil {
		if !errors.Is(err, errNotFound) {
			s.log.Error("store read failed", "id", id, "err", err)
		}
		return nil, errNotFound
	}
	if !photo || a.photo == nil {
		return &entry{id: id, sha: a.report.Image.SHA256, report: a.report}, nil
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.Timeout)
	defer cancel()
	if a.layers != nil {
		e, err := s.pool.restore(ctx, a)
		if !errors.Is(err, errBadLayers) {
			return e, err
		}
		s.log.Error("stored layers unusable; analysing the stored photo again", "id", id, "err", err)
	}
	e, _, err = s.pool.analyze(ctx, a.photo, a.report.Image.File)
	return e, err
}

func (s *Server) getAnalysis(w http.ResponseWriter, r *http.Request) {
	e, err := s.lookup(r, r.PathValue("id"), false)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, e.report)
}

func (s *Server) getOverlay(w http.ResponseWriter, r *http.Request) {
	layers := overlay.AllLayers
	if q := r.URL.Query(); q.Has("layers") {
		var err error
		if layers, err = overlay.ParseLayers(q.Get("layers")); err != nil {
			s.fail(w, r, fmt.Errorf("%w: %w", errBadRequest, err))
			return
		}
	}
	e, err := s.lookup(r, r.PathValue("id"), true)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if e.photo == nil {
		s.fail(w, r, fmt.Errorf("%w: analysis %s has no photo to draw on", errNotFound, e.id))
		return
	}
	img := overlay.Draw(e.photo, e.scene, layers)
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "private, max-age=3600")
	_ = png.Encode(w, img)
}
