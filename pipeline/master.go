package pipeline

import (
	"context"
	"fmt"
	"hash/fnv"
	"sync"
)

// The master playlist of a replay (hls/master.m3u8 of its render generation) is rebuilt whole
// from what is stored — hls/variants.json and the catalog's subtitle tracks — by two kinds of
// writers: the job, each time a rung is added while the replay is already playable, and every
// subtitle change (subtitle.Tracks.WriteMaster), from any process. Two rebuilds that overlap
// would each read before the other wrote, and the last put would drop the other's change: a
// rung missing from the master until the next one, or a track. lockMaster makes them take turns,
// and each writer reads its inputs inside its turn.

// masterStripes bounds the in-process locks: recordings share a stripe, rarely at once.
const masterStripes = 64

// masterLocks are the in-process half of lockMaster: writers of one process queue here instead
// of in the database.
type masterLocks [masterStripes]sync.Mutex

func (m *masterLocks) of(id string) *sync.Mutex {
	h := fnv.New32a()
	h.Write([]byte(id))
	return &m[h.Sum32()%masterStripes]
}

// lockMaster runs fn with the master playlist of the replay id to itself, across the processes
// sharing the database: inside a transaction that has written the recording's row, which holds
// its row lock on PostgreSQL and the database's write lock on SQLite (immediate transactions)
// until fn returns. fn only reads the database and writes a few small objects: other writers of
// the database wait a few milliseconds at most.
func (s *Service) lockMaster(ctx context.Context, id string, fn func(context.Context) error) error {
	mu := s.masters.of(id)
	if !mu.TryLock() {
		if s.masterWait != nil {
			s.masterWait(id)
		}
		mu.Lock()
	}
	defer mu.Unlock()
	tx, err := s.cfg.DB.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("pipeline: lock the master of %s: %w", id, err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `UPDATE recordings SET updated_at = updated_at WHERE id = $1`, id); err != nil {
		return fmt.Errorf("pipeline: lock the master of %s: %w", id, err)
	}
	if err := fn(ctx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("pipeline: unlock the master of %s: %w", id, err)
	}
	return nil
}
