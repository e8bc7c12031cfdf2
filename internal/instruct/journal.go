package instruct

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	"github.com/retinalgpt/retinalgpt/internal/dataset"
	"github.com/retinalgpt/retinalgpt/internal/fundus"
)

// Entry is one finished record, as the journal keeps it: everything the
// outputs need, so they can be written (or merged from shards) without
// the Reports.
type Entry struct {
	// Seq is the record's place in the build's global order (datasets as
	// named, records as their adapter lists them).
	Seq           int            `json:"seq"`
	Dataset       string         `json:"dataset"`
	ID            string         `json:"id"`
	Image         string         `json:"image"` // LLaVA path: dataset/<path under root>
	Path          string         `json:"path"`  // the file as read
	OfficialSplit string         `json:"official_split,omitempty"`
	Group         string         `json:"group,omitempty"`
	Labels        dataset.Labels `json:"labels"`
	// HeldOut: an official test-split record left out of the data; only
	// hashed, so its duplicates elsewhere stay out of training.
	HeldOut bool   `json:"held_out,omitempty"`
	SHA256  string `json:"sha256,omitempty"`
	// PHash are the photo's pHash and those of its seven flips and turns
	// (PHashes), 16 hex digits each; Thumb its grey 16x16 inner square.
	PHash     []string       `json:"phash,omitempty"`
	Thumb     []byte         `json:"thumb,omitempty"`
	FromCache bool           `json:"from_cache,omitempty"`
	Failure   *Failure       `json:"failure,omitempty"`
	Row       []string       `json:"row,omitempty"` // features row; the set cell is filled when the splits are known
	Stage1    *Sample        `json:"stage1,omitempty"`
	Stage2    *Sample        `json:"stage2,omitempty"`
	Kinds     []Kind         `json:"kinds,omitempty"`
	Dropped   []string       `json:"dropped,omitempty"`
	Rewrite   *EntryRewrites `json:"rewrite,omitempty"`
}

// EntryRewrites is what the rewriter did to one record.
type EntryRewrites struct {
	Answers int `json:"answers"`
	// Dropped: "stage1: …" / "stage2: …" for a sample left out because a
	// paraphrase changed its numbers ("answer 2 lost 0.0642, added 0.0643").
	Dropped []string `json:"dropped,omitempty"`
}

// Build is what a build was asked to do, apart from which shard: shards
// of one build, and a resumed run, must agree on it.
type Build struct {
	Software    Software    `json:"software"`
	Sources     []Source    `json:"sources"`
	Limit       int         `json:"limit"`
	IncludeTest bool        `json:"include_test"`
	Rewriter    string      `json:"rewriter,omitempty"`
	Split       SplitConfig `json:"split"`
	// Lesions: the lesion stage ran (--lesions). Omitted when false, so a
	// journal written before the option existed still matches a build
	// without it.
	Lesions bool `json:"lesions,omitempty"`
}

func (cfg Config) fingerprint() Build {
	return Build{Software: cfg.Software, Sources: cfg.Sources, Limit: cfg.Limit, IncludeTest: cfg.IncludeTest,
		Rewriter: cfg.RewriterName, Split: cfg.Split.withDefaults(), Lesions: cfg.Lesions}
}

// ShardInfo is shard.json: one build (or shard of one) and how far it got.
type ShardInfo struct {
	Shard       int                       `json:"shard"`
	Shards      int                       `json:"shards"`
	Build       Build                     `json:"build"`
	Command     []string                  `json:"command"`
	StartedAt   time.Time                 `json:"started_at"`
	FinishedAt  time.Time                 `json:"finished_at,omitzero"`
	Datasets    map[string]*DatasetCounts `json:"datasets"`
	ExcludeEval []EvalPrint               `json:"exclude_eval"`
	// Records is how many records this shard owns; Resumed how many of
	// them the last run found in the journal.
	Records  int  `json:"records"`
	Resumed  int  `json:"resumed"`
	Complete bool `json:"complete"`
}

// ReadShardInfo reads dir/shard.json.
func ReadShardInfo(dir string) (*ShardInfo, error) {
	b, err := os.ReadFile(filepath.Join(dir, ShardFile))
	if err != nil {
		return nil, err
	}
	var s ShardInfo
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, ShardFile), err)
	}
	return &s, nil
}

func (s *ShardInfo) sameBuild(o *ShardInfo) error {
	a, _ := json.Marshal(s.Build)
	b, _ := json.Marshal(o.Build)
	if !bytes.Equal(a, b) {
		return errors.New("different software, datasets, --limit, --include-test, --lesions, splits or rewriter")
	}
	if s.Shards != o.Shards || s.Shard != o.Shard {
		return fmt.Errorf("shard %d/%d, not %d/%d", s.Shard, s.Shards, o.Shard, o.Shards)
	}
	if !reflect.DeepEqual(s.ExcludeEval, o.ExcludeEval) {
		return errors.New("different --exclude-eval")
	}
	return nil
}

// entryName is the journal file of a record: a hash of dataset and ID.
func entryName(rec dataset.Record) string {
	h := sha256.Sum256([]byte(rec.Dataset + "\x00" + rec.ID))
	return hex.EncodeToString(h[:12]) + ".json"
}

func readEntry(dir string, rec dataset.Record) (*Entry, error) {
	b, err := os.ReadFile(filepath.Join(dir, entryName(rec)))
	if err != nil {
		return nil, err
	}
	var e Entry
	if err := json.Unmarshal(b, &e); err != nil {
		return nil, err
	}
	if e.Dataset != rec.Dataset || e.ID != rec.ID {
		return nil, errors.New("journal entry of another record")
	}
	return &e, nil
}

func writeEntry(dir string, e *Entry) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	return WriteFileAtomic(filepath.Join(dir, entryName(dataset.Record{Dataset: e.Dataset, ID: e.ID})), b)
}

// readJournal reads every entry of a journal folder.
func readJournal(dir string) ([]*Entry, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []*Entry
	for _, de := range ents {
		if !strings.HasSuffix(de.Name(), ".json") || strings.HasPrefix(de.Name(), ".") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, de.Name()))
		if err != nil {
			return nil, err
		}
		var e Entry
		if err := json.Unmarshal(b, &e); err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Join(dir, de.Name()), err)
		}
		out = append(out, &e)
	}
	return out, nil
}

// cleanTemps removes temp files a killed run left in the journal.
func cleanTemps(dir string) {
	ents, _ := os.ReadDir(dir)
	for _, de := range ents {
		if strings.HasPrefix(de.Name(), ".") && strings.Contains(de.Name(), ".tmp") {
			os.Remove(filepath.Join(dir, de.Name()))
		}
	}
}

// Fingerprint decodes a photo and returns its pHashes (PHashes, as hex)
// and thumbnail (Thumb).
func Fingerprint(data []byte, name string) ([]string, []byte, error) {
	img, err := fundus.Decode(bytes.NewReader(data), name, phashLimits)
	if err != nil {
		return nil, nil, err
	}
	hs := PHashes(img)
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = FormatPHash(h)
	}
	return out, Thumb(img), nil
}

// EvalPrint is one benchmark image to keep out of the data: its SHA-256,
// and when it could be decoded its pHashes and thumbnail; or only a
// SHA-256 or only a pHash when the list gave a hash.
type EvalPrint struct {
	Name   string   `json:"name"`
	SHA256 string   `json:"sha256,omitempty"`
	PHash  []string `json:"phash,omitempty"`
	Thumb  []byte   `json:"thumb,omitempty"`
}

// ReadEvalList reads an --exclude-eval file: one entry a line, blank
// lines and lines starting with # skipped; 64 hex digits is a SHA-256,
// 16 a pHash, anything else a path to an image (relative to the list's
// folder when not absolute), read and fingerprinted.
func ReadEvalList(path string) ([]EvalPrint, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []EvalPrint
	sc := bufio.NewScanner(f)
	line := 0
	for sc.Scan() {
		line++
		s := strings.TrimSpace(sc.Text())
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		if isHex(s) && len(s) == 64 {
			out = append(out, EvalPrint{Name: s, SHA256: strings.ToLower(s)})
			continue
		}
		if isHex(s) && len(s) == 16 {
			out = append(out, EvalPrint{Name: s, PHash: []string{strings.ToLower(s)}})
			continue
		}
		p := s
		if !filepath.IsAbs(p) {
			p = filepath.Join(filepath.Dir(path), p)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		sum := sha256.Sum256(data)
		ep := EvalPrint{Name: s, SHA256: hex.EncodeToString(sum[:])}
		ep.PHash, ep.Thumb, _ = Fingerprint(data, filepath.Base(p))
		out = append(out, ep)
	}
	return out, sc.Err()
}

func isHex(s string) bool {
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}
