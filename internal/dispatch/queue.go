package dispatch

import "sync"

// item names one recipient of one activation.
type item struct{ activation, official string }

// queue hands items to workers in the order they were added, never the same
// item to two workers at once. An item added while a worker holds it is
// handed out again once that worker is done.
type queue struct {
	mu      sync.Mutex
	cond    *sync.Cond
	order   []item
	queued  map[item]bool
	busy    map[item]bool
	again   map[item]bool
	stopped bool
}

func newQueue() *queue {
	q := &queue{queued: map[item]bool{}, busy: map[item]bool{}, again: map[item]bool{}}
	q.cond = sync.NewCond(&q.mu)
	return q
}

func (q *queue) add(it item) {
	q.mu.Lock()
	defer q.mu.Unlock()
	switch {
	case q.busy[it]:
		q.again[it] = true
	case !q.queued[it]:
		q.queued[it] = true
		q.order = append(q.order, it)
		q.cond.Signal()
	}
}

// take blocks for the next item; ok is false once the queue is stopped.
func (q *queue) take() (it item, ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.order) == 0 && !q.stopped {
		q.cond.Wait()
	}
	if q.stopped {
		return item{}, false
	}
	it = q.order[0]
	q.order[0] = item{}
	q.order = q.order[1:]
	delete(q.queued, it)
	q.busy[it] = true
	return it, true
}

func (q *queue) done(it item) {
	q.mu.Lock()
	delete(q.busy, it)
	again := q.again[it]
	delete(q.again, it)
	q.mu.Unlock()
	if again {
		q.add(it)
	}
}

func (q *queue) stop() {
	q.mu.Lock()
	q.stopped = true
	q.mu.Unlock()
	q.cond.Broadcast()
}

// len returns how many items wait.
func (q *queue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.order)
}
