package assets

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

const (
	tmpDirName  = ".tmp"
	metaDirName = ".meta"
	// minSecretLen is the shortest URL signing secret NewDir accepts.
	minSecretLen = 16
	// staleTemp is the age past which NewDir removes temp files left by a
	// crashed process.
	staleTemp = 24 * time.Hour
)

// Dir is a Store on a local file system: the object for key lives in the
// plain file root/key, its sidecar in root/.meta/, and uploads in progress in
// root/.tmp/. One process at a time may write to a root.
type Dir struct {
	root      string
	publicURL string
	secret    []byte
	// locks serialise, per key (striped), the commit of a Put and a Delete
	// against readers, so that a reader never sees a data file together
	// with the sidecar of another version. Uploads stream without a lock.
	locks [64]sync.RWMutex
	// tree guards directories: Puts share it while they create a directory and rename into
	// it, Delete takes it alone to remove directories it left empty. Without pruning, every
	// refused upload would leave an empty directory behind for good.
	tree sync.RWMutex
	// active names the temp files of the Puts in progress, which RemoveStale leaves alone
	// however long their writer pauses.
	active sync.Map
}

// NewDir opens (creating it if needed) a Dir at root. URLs it makes start
// with publicURL (e.g. "https://atelier.example"; "" makes them relative)
// and are signed with secret, at least 16 bytes.
func NewDir(root string, publicURL string, secret []byte) (*Dir, error) {
	if root == "" {
		return nil, errors.New("assets: dir: empty root")
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("assets: dir %s: %w", root, err)
	}
	if len(secret) < minSecretLen {
		return nil, fmt.Errorf("assets: dir %s: URL signing secret must be at least %d bytes, got %d", root, minSecretLen, len(secret))
	}
	publicURL = strings.TrimSuffix(publicURL, "/")
	if publicURL != "" {
		u, err := url.Parse(publicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return nil, fmt.Errorf("assets: dir %s: public URL %q: want http(s)://host[/path]", root, publicURL)
		}
	}
	d := &Dir{root: abs, publicURL: publicURL, secret: bytes.Clone(secret)}
	for _, p := range []string{abs, d.tmpDir(), filepath.Join(abs, metaDirName)} {
		if err := os.MkdirAll(p, 0o755); err != nil {
			return nil, fmt.Errorf("assets: dir: %w", err)
		}
	}
	d.removeStaleTemps()
	return d, nil
}

func (d *Dir) tmpDir() string             { return filepath.Join(d.root, tmpDirName) }
func (d *Dir) dataPath(key string) string { return filepath.Join(d.root, filepath.FromSlash(key)) }
func (d *Dir) metaPath(key string) string {
	return filepath.Join(d.root, metaDirName, filepath.FromSlash(metaName(key)))
}

func (d *Dir) lock(key string) *sync.RWMutex {
	h := fnv.New32a()
	h.Write([]byte(key))
	return &d.locks[h.Sum32()%uint32(len(d.locks))]
}

// Put writes r to a temp file in root/.tmp, hashing it on the way, fsyncs it,
// writes the sidecar the same way, then under the key's lock renames the
// sidecar and then the data file into place, fsyncing each directory. The
// rename of the data file is the commit: until then readers see the previous
// version (or nothing), and a crash before it leaves only temp files.
func (d *Dir) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) (Info, error) {
	if err := ValidKey(key); err != nil {
		return Info{}, err
	}
	info, err := d.put(ctx, key, r, size, contentType)
	if err != nil {
		return Info{}, opErr("put", key, err)
	}
	return info, nil
}

func (d *Dir) put(ctx context.Context, key string, r io.Reader, size int64, contentType string) (Info, error) {
	ct, err := normContentType(contentType)
	if err != nil {
		return Info{}, err
	}
	if err := ctx.Err(); err != nil {
		return Info{}, err
	}
	data, err := os.CreateTemp(d.tmpDir(), "put-*")
	if err != nil {
		return Info{}, err
	}
	d.active.Store(filepath.Base(data.Name()), true)
	defer d.active.Delete(filepath.Base(data.Name()))
	committed := false
	defer func() {
		if !committed {
			data.Close()
			os.Remove(data.Name())
		}
	}()

	pr := newPutReader(ctx, r, size)
	buf := make([]byte, 256<<10)
	// struct{io.Writer} hides ReadFrom so that buf is used.
	if _, err := io.CopyBuffer(struct{ io.Writer }{data}, pr, buf); err != nil {
		return Info{}, pr.cause(err)
	}
	if err := data.Sync(); err != nil {
		return Info{}, err
	}
	fi, err := data.Stat()
	if err != nil {
		return Info{}, err
	}
	if err := data.Close(); err != nil {
		return Info{}, err
	}
	info, renamed, err := d.commit(ctx, key, data.Name(), fi, pr.sum(), ct)
	committed = renamed
	return info, err
}

// commit makes the closed and fsynced file at data, on the root's file system, the object key:
// it writes the sidecar (hash sum, content type ct) to a temp file, then under the key's lock
// renames the sidecar and then the data file into place, fsyncing each directory. It reports
// whether data was renamed: from then on it is the object's, whatever the error.
func (d *Dir) commit(ctx context.Context, key, data string, fi os.FileInfo, sum, ct string) (Info, bool, error) {
	sc := sidecar{
		Key:         key,
		SHA256:      sum,
		ContentType: ct,
		Size:        fi.Size(),
		MTimeNS:     fi.ModTime().UnixNano(),
		Inode:       inode(fi),
	}
	meta, err := writeTemp(d.tmpDir(), "meta-*", sc)
	metaMoved := false
	if meta != nil {
		defer func() {
			if !metaMoved {
				meta.Close()
				os.Remove(meta.Name())
			}
		}()
	}
	if err != nil {
		return Info{}, false, err
	}

	dataPath, metaPath := d.dataPath(key), d.metaPath(key)
	mu := d.lock(key)
	mu.Lock()
	defer mu.Unlock()
	// The last moment to give up: after this the new version is visible.
	if err := ctx.Err(); err != nil {
		return Info{}, false, err
	}
	d.tree.RLock()
	defer d.tree.RUnlock()
	if err := d.mkdirAll(filepath.Dir(dataPath)); err != nil {
		return Info{}, false, err
	}
	if err := d.mkdirAll(filepath.Dir(metaPath)); err != nil {
		return Info{}, false, err
	}
	if fi, err := os.Lstat(dataPath); err == nil && fi.IsDir() {
		return Info{}, false, fmt.Errorf("%s is a directory of other keys", dataPath)
	}
	// Sidecar first: it names the new data file (by inode, size and mtime),
	// so until the data rename below it matches nothing and the old version,
	// if any, reads as missing rather than with a wrong hash. Readers are
	// held off by mu meanwhile; only a crash between the two renames shows.
	if err := os.Rename(meta.Name(), metaPath); err != nil {
		return Info{}, false, err
	}
	metaMoved = true
	if err := syncDir(filepath.Dir(metaPath)); err != nil {
		return Info{}, false, err
	}
	if err := os.Rename(data, dataPath); err != nil {
		return Info{}, false, err
	}
	if err := syncDir(filepath.Dir(dataPath)); err != nil {
		return Info{}, true, err
	}
	return sc.info(fi.ModTime()), true, nil
}

func (sc sidecar) info(mod time.Time) Info {
	return Info{Key: sc.Key, Size: sc.Size, ContentType: sc.ContentType, ModTime: mod, SHA256: sc.SHA256}
}

// writeTemp writes v as JSON to a new fsynced and closed temp file in dir.
func writeTemp(dir, pattern string, v any) (*os.File, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return nil, err
	}
	if _, err := f.Write(b); err != nil {
		return f, err
	}
	if err := f.Sync(); err != nil {
		return f, err
	}
	return f, f.Close()
}

// Open returns the object's bytes (or rng of them) from an open file, so a
// later overwrite or Delete does not disturb a reader.
func (d *Dir) Open(ctx context.Context, key string, rng *Range) (io.ReadCloser, Info, error) {
	if err := ValidKey(key); err != nil {
		return nil, Info{}, err
	}
	if err := ctx.Err(); err != nil {
		return nil, Info{}, opErr("open", key, err)
	}
	f, info, err := d.openFile(key)
	if err != nil {
		return nil, Info{}, opErr("open", key, err)
	}
	off, n, err := span(rng, info.Size)
	if err != nil {
		f.Close()
		return nil, Info{}, opErr("open", key, err)
	}
	return struct {
		io.Reader
		io.Closer
	}{io.NewSectionReader(f, off, n), f}, info, nil
}

// OpenFile returns the object's file, open and checked against its sidecar
// (see FileOpener).
func (d *Dir) OpenFile(ctx context.Context, key string) (*os.File, Info, error) {
	if err := ValidKey(key); err != nil {
		return nil, Info{}, err
	}
	if err := ctx.Err(); err != nil {
		return nil, Info{}, opErr("open", key, err)
	}
	f, info, err := d.openFile(key)
	if err != nil {
		return nil, Info{}, opErr("open", key, err)
	}
	return f, info, nil
}

// Stat describes the object.
func (d *Dir) Stat(ctx context.Context, key string) (Info, error) {
	if err := ValidKey(key); err != nil {
		return Info{}, err
	}
	if err := ctx.Err(); err != nil {
		return Info{}, opErr("stat", key, err)
	}
	f, info, err := d.openFile(key)
	if err != nil {
		return Info{}, opErr("stat", key, err)
	}
	f.Close()
	return info, nil
}

// openFile opens key's data file and checks it against its sidecar. A data
// file without a matching sidecar is not (or no longer) an object.
func (d *Dir) openFile(key string) (*os.File, Info, error) {
	mu := d.lock(key)
	mu.RLock()
	defer mu.RUnlock()
	f, err := os.Open(d.dataPath(key))
	if err != nil {
		return nil, Info{}, notExist(err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, Info{}, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, Info{}, ErrNotExist
	}
	sc, err := d.readSidecar(key)
	if err != nil {
		f.Close()
		return nil, Info{}, err
	}
	if sc.Key != key || sc.Size != fi.Size() || sc.MTimeNS != fi.ModTime().UnixNano() || sc.Inode != inode(fi) {
		f.Close()
		return nil, Info{}, ErrNotExist
	}
	return f, sc.info(fi.ModTime()), nil
}

func (d *Dir) readSidecar(key string) (sidecar, error) {
	b, err := os.ReadFile(d.metaPath(key))
	if err != nil {
		return sidecar{}, notExist(err)
	}
	var sc sidecar
	if err := json.Unmarshal(b, &sc); err != nil {
		return sidecar{}, fmt.Errorf("sidecar %s: %w", d.metaPath(key), err)
	}
	return sc, nil
}

// notExist maps the errors of a path that is missing, or whose parent is a
// file, to ErrNotExist.
func notExist(err error) error {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return ErrNotExist
	}
	return err
}

// Delete removes the data file (the commit), then the sidecar.
func (d *Dir) Delete(ctx context.Context, key string) error {
	if err := ValidKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return opErr("delete", key, err)
	}
	mu := d.lock(key)
	mu.Lock()
	defer mu.Unlock()
	p := d.dataPath(key)
	if err := d.remove(p, d.metaPath(key)); err != nil {
		return opErr("delete", key, err)
	}
	d.pruneEmpty(filepath.Dir(p))
	return nil
}

// remove deletes the data file (the commit), then the sidecar, sharing the tree lock so that
// no prune removes the directory under it.
func (d *Dir) remove(data, meta string) error {
	d.tree.RLock()
	defer d.tree.RUnlock()
	if fi, err := os.Lstat(data); err == nil && !fi.IsDir() {
		if err := os.Remove(data); err != nil && notExist(err) != ErrNotExist {
			return err
		}
		if err := syncDir(filepath.Dir(data)); err != nil {
			return err
		}
	}
	if err := os.Remove(meta); err != nil && notExist(err) != ErrNotExist {
		return err
	}
	return nil
}

// pruneEmpty removes dir and its parents below the root while they are empty. os.Remove refuses
// a directory that is not empty, so a failure simply ends the walk.
func (d *Dir) pruneEmpty(dir string) {
	d.tree.Lock()
	defer d.tree.Unlock()
	for dir != d.root && strings.HasPrefix(dir, d.root+string(filepath.Separator)) {
		if os.Remove(dir) != nil {
			return
		}
		dir = filepath.Dir(dir)
	}
}

// List walks the directory that holds prefix's last segment.
func (d *Dir) List(ctx context.Context, prefix string) ([]Info, error) {
	if err := validPrefix(prefix); err != nil {
		return nil, err
	}
	base := prefix[:strings.LastIndex(prefix, "/")+1] // "" or ".../"
	start := filepath.Join(d.root, filepath.FromSlash(base))
	out := make([]Info, 0)
	err := filepath.WalkDir(start, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if p == start && notExist(err) == ErrNotExist {
				return fs.SkipAll
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if p == start {
			return nil
		}
		rel, err := filepath.Rel(d.root, p)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if e.IsDir() {
			// Descend only where keys can match prefix; skip .tmp and .meta.
			dk := key + "/"
			if strings.HasPrefix(dk, ".") || !(strings.HasPrefix(dk, prefix) || strings.HasPrefix(prefix, dk)) {
				return fs.SkipDir
			}
			return nil
		}
		if !e.Type().IsRegular() || !strings.HasPrefix(key, prefix) || hiddenKey(key) {
			return nil
		}
		f, info, err := d.openFile(key)
		if errors.Is(err, ErrNotExist) {
			return nil // incomplete, or removed meanwhile
		}
		if err != nil {
			return err
		}
		f.Close()
		out = append(out, info)
		return nil
	})
	if err != nil {
		return nil, opErr("list", strconv.Quote(prefix), err)
	}
	slices.SortFunc(out, func(a, b Info) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}

// URL returns a link to key that ServeHTTP honours until ttl has passed:
// {publicURL}/media/{key}?expires={unix}&sig={hex HMAC-SHA256}. The MAC covers
// key + "\n" + expires: the separator (which no key contains) keeps a key
// ending in digits from trading them with the expiry. It does not check that
// the object exists.
func (d *Dir) URL(ctx context.Context, key string, ttl time.Duration) (string, error) {
	if err := ValidKey(key); err != nil {
		return "", err
	}
	if ttl <= 0 {
		return "", fmt.Errorf("assets: url %s: ttl %v is not positive", key, ttl)
	}
	exp := time.Now().Add(ttl).Unix()
	return d.signedURL(key, exp), nil
}

func (d *Dir) signedURL(key string, exp int64) string {
	segs := strings.Split(key, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return d.publicURL + "/media/" + strings.Join(segs, "/") +
		"?expires=" + strconv.FormatInt(exp, 10) + "&sig=" + d.sign(key, exp)
}

func (d *Dir) sign(key string, exp int64) string {
	m := hmac.New(sha256.New, d.secret)
	m.Write([]byte(key))
	m.Write([]byte{'\n'})
	m.Write([]byte(strconv.FormatInt(exp, 10)))
	return hex.EncodeToString(m.Sum(nil))
}

// Ping checks that the root can be written.
func (d *Dir) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("assets: ping: %w", err)
	}
	f, err := os.CreateTemp(d.tmpDir(), "ping-*")
	if err != nil {
		return fmt.Errorf("assets: ping: %w", err)
	}
	f.Close()
	os.Remove(f.Name())
	return nil
}

// mkdirAll is os.MkdirAll for directories below d.root that also fsyncs the
// parent of every directory it creates, so that a later rename into it
// survives a crash.
func (d *Dir) mkdirAll(dir string) error {
	fi, err := os.Stat(dir)
	if err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("%s: %w", dir, syscall.ENOTDIR)
		}
		return nil
	}
	parent := filepath.Dir(dir)
	if dir == d.root || parent == dir {
		return err
	}
	if err := d.mkdirAll(parent); err != nil {
		return err
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return d.mkdirAll(dir) // made meanwhile by another key's Put
		}
		return err
	}
	return syncDir(parent)
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// RemoveStale removes the temp files in .tmp last written before before: what a Put left when its
// process died (a Put in progress writes its temp file all along, so its time stays recent). It
// returns how many it removed. The temp files of this process's Puts in progress are never
// removed. Callers sweep with it periodically; NewDir also removes those of
// more than a day.
func (d *Dir) RemoveStale(ctx context.Context, before time.Time) (int, error) {
	entries, err := os.ReadDir(d.tmpDir())
	if err != nil {
		return 0, fmt.Errorf("assets: dir: %w", err)
	}
	n := 0
	for _, e := range entries {
		if ctx.Err() != nil {
			return n, ctx.Err()
		}
		if _, busy := d.active.Load(e.Name()); busy {
			continue
		}
		fi, err := e.Info()
		if err != nil || !fi.Mode().IsRegular() || !fi.ModTime().Before(before) {
			continue
		}
		if err := os.Remove(filepath.Join(d.tmpDir(), e.Name())); err == nil {
			n++
		}
	}
	return n, nil
}

// removeStaleTemps removes what a crashed Put left in .tmp long ago.
func (d *Dir) removeStaleTemps() {
	entries, err := os.ReadDir(d.tmpDir())
	if err != nil {
		return
	}
	for _, e := range entries {
		if fi, err := e.Info(); err == nil && fi.Mode().IsRegular() && time.Since(fi.ModTime()) > staleTemp {
			os.Remove(filepath.Join(d.tmpDir(), e.Name()))
		}
	}
}
