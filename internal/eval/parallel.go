package eval

import (
	"context"
	"runtime"
	"sync"
)

// forEach calls do(i) for every i in [0, n), workers at a time (0:
// GOMAXPROCS), handing out indices in order as workers free up; it stops
// handing them out when ctx is done and returns ctx's error then. do
// guards whatever it shares.
func forEach(ctx context.Context, n, workers int, do func(i int)) error {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range next {
				do(i)
			}
		})
	}
feed:
	for i := range n {
		// select picks at random among ready cases: without this check a
		// free worker could still be handed work after cancellation.
		if ctx.Err() != nil {
			break
		}
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	return ctx.Err()
}
