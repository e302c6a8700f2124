// Package parthash hashes the part buffers of an S3 multipart upload in a goroutine of its own,
// in order, while the parts are sent: the read path of an upload then only reads, and the
// SHA-256 of every byte (the sidecar's checksum) overlaps the reading and the sending instead of
// adding to them (issue #12 §3). A buffer is free again once both its part is sent and it is
// hashed.
package parthash

import (
	"hash"
	"sync"
	"sync/atomic"
)

// Hasher feeds buffers, in the order given to Add, to a hash.
type Hasher struct {
	h    hash.Hash
	skip int64
	q    chan job
	done chan struct{}
	once sync.Once
}

type job struct {
	b    []byte
	done func()
}

// New starts the goroutine of h (nil: nothing is hashed, Add only counts the holders). The
// first skip bytes given to Add are not hashed (the caller hashed them already). depth is how
// many buffers may wait to be hashed: the number of buffers the caller has.
func New(h hash.Hash, skip int64, depth int) *Hasher {
	p := &Hasher{h: h, skip: skip, q: make(chan job, depth), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		for j := range p.q {
			p.h.Write(j.b)
			j.done()
		}
	}()
	return p
}

// Add queues b and returns the release of its other holder (the part's upload, which must call
// it once, whatever happens): free runs once both have let go of b.
func (p *Hasher) Add(b []byte, free func()) (release func()) {
	var left atomic.Int32
	left.Store(2)
	unref := func() {
		if left.Add(-1) == 0 {
			free()
		}
	}
	k := min(p.skip, int64(len(b)))
	p.skip -= k
	if p.h == nil || int64(len(b)) == k {
		unref()
	} else {
		p.q <- job{b: b[k:], done: unref}
	}
	return unref
}

// Wait returns once everything added is hashed, and ends the goroutine: call it on every path,
// after the last Add.
func (p *Hasher) Wait() {
	p.once.Do(func() { close(p.q) })
	<-p.done
}
