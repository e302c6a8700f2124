package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// Periodic is a task that runs once per Interval across every process sharing the database, not
// once per process: the release-feed sync, the link of replays into workshops. The job queue
// runs them as River periodic jobs: the one process River elects leader inserts each when due
// (and once at its start), and any process takes it from the "periodic" queue, which every
// process works, API nodes with -workers 0 included. A run still going when the next is due
// makes that one a no-op (unique while in flight). A failed run is logged and not retried: the
// next interval is the retry.
type Periodic struct {
	Name     string // unique, stable across versions: it names the job
	Interval time.Duration
	Run      func(ctx context.Context) error
}

const periodicQueue = "periodic"

// PeriodicArgs is the River job of one run of a Periodic task.
type PeriodicArgs struct {
	Name string `json:"name"`
}

func (PeriodicArgs) Kind() string { return "atelier.periodic" }

func (PeriodicArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: periodicQueue, MaxAttempts: 1, UniqueOpts: river.UniqueOpts{
		ByArgs: true,
		ByState: []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
			rivertype.JobStateScheduled, rivertype.JobStateRetryable},
	}}
}

type periodicWorker struct {
	river.WorkerDefaults[PeriodicArgs]
	tasks map[string]Periodic
	log   *slog.Logger
}

// Timeout: a run may take up to its interval.
func (w *periodicWorker) Timeout(job *river.Job[PeriodicArgs]) time.Duration {
	if t, ok := w.tasks[job.Args.Name]; ok {
		return t.Interval
	}
	return time.Minute
}

func (w *periodicWorker) Work(ctx context.Context, job *river.Job[PeriodicArgs]) error {
	t, ok := w.tasks[job.Args.Name]
	if !ok {
		// Inserted by a process of another version that knows this task: not ours to run.
		return river.JobCancel(fmt.Errorf("pipeline: no periodic task %q in this process", job.Args.Name))
	}
	if err := t.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		w.log.Warn("periodic task failed; it runs again at its next interval", "task", t.Name, "error", err)
	}
	return nil
}

// periodicJobs registers the worker of tasks in workers and returns their River periodic jobs.
func periodicJobs(workers *river.Workers, tasks []Periodic, log *slog.Logger) ([]*river.PeriodicJob, error) {
	w := &periodicWorker{tasks: map[string]Periodic{}, log: log}
	var jobs []*river.PeriodicJob
	for _, t := range tasks {
		if t.Name == "" || t.Interval <= 0 || t.Run == nil {
			return nil, fmt.Errorf("pipeline: periodic task %q: name, interval and run are required", t.Name)
		}
		if _, dup := w.tasks[t.Name]; dup {
			return nil, fmt.Errorf("pipeline: periodic task %q given twice", t.Name)
		}
		w.tasks[t.Name] = t
		name := t.Name
		jobs = append(jobs, river.NewPeriodicJob(river.PeriodicInterval(t.Interval),
			func() (river.JobArgs, *river.InsertOpts) { return PeriodicArgs{Name: name}, nil },
			&river.PeriodicJobOpts{ID: name, RunOnStart: true}))
	}
	if err := river.AddWorkerSafely(workers, w); err != nil {
		return nil, fmt.Errorf("pipeline: %w", err)
	}
	return jobs, nil
}
