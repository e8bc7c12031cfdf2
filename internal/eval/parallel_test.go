package eval

import (
	"context"
	"errors"
	"sync"
	"testing"
)

func TestForEach(t *testing.T) {
	for _, workers := range []int{0, 1, 3, 50} {
		var mu sync.Mutex
		seen := map[int]int{}
		if err := forEach(context.Background(), 37, workers, func(i int) {
			mu.Lock()
			seen[i]++
			mu.Unlock()
		}); err != nil {
			t.Fatal(err)
		}
		if len(seen) != 37 {
			t.Fatalf("%d workers: %d indices visited, want 37", workers, len(seen))
		}
		for i, n := range seen {
			if n != 1 {
				t.Errorf("%d workers: index %d visited %d times", workers, i, n)
			}
		}
	}
	// Cancelled after the fifth call: no index is handed out afterwards
	// (the calls already running finish) and the error is the context's.
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	calls := 0
	err := forEach(ctx, 1000, 2, func(i int) {
		mu.Lock()
		defer mu.Unlock()
		if calls++; calls == 5 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) || calls > 7 {
		t.Errorf("after cancelling: error %v, %d calls", err, calls)
	}
}
