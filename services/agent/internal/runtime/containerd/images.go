package containerd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/remotes"
	"github.com/containerd/containerd/v2/core/remotes/docker"
	"github.com/containerd/containerd/v2/pkg/archive/compression"
	"github.com/containerd/errdefs"
	"github.com/distribution/reference"

	"github.com/gantry-dev/gantry/services/agent/internal/runtime"
)

// Pull policies, as Kubernetes spells them.
const (
	PullAlways       = "Always"
	PullIfNotPresent = "IfNotPresent"
	PullNever        = "Never"
)

// EnsureImage makes ref present according to policy and returns it
// unpacked for the snapshotter.
func (r *Runtime) EnsureImage(ctx context.Context, ref string, policy string, auth []runtime.RegistryAuth) (runtime.Image, error) {
	ctx = r.nsctx(ctx)
	name, err := normalizeRef(ref)
	if err != nil {
		return runtime.Image{}, err
	}
	switch policy {
	case "":
		policy = PullIfNotPresent
	case PullAlways, PullIfNotPresent, PullNever:
	default:
		return runtime.Image{}, fmt.Errorf("image %s: unknown pull policy %q", name, policy)
	}
	local := r.isLocalRegistry(name)
	if policy != PullAlways || local {
		img, err := r.localImage(ctx, name)
		if err == nil || !errors.Is(err, runtime.ErrNotFound) {
			return img, err
		}
		if policy == PullNever {
			return runtime.Image{}, fmt.Errorf("image %s is not present and the pull policy is Never: %w", name, err)
		}
		if local {
			return runtime.Image{}, fmt.Errorf("image %s is not present; images of %s are imported, not pulled: %w",
				name, registryOf(name), err)
		}
	}
	return r.pull(ctx, name, auth)
}

func (r *Runtime) pull(ctx context.Context, name string, auth []runtime.RegistryAuth) (runtime.Image, error) {
	img, err := r.client.Pull(ctx, name,
		containerd.WithResolver(newResolver(auth)),
		containerd.WithPullUnpack,
		containerd.WithPullSnapshotter(r.cfg.Snapshotter))
	if err != nil {
		return runtime.Image{}, fmt.Errorf("pull %s: %w", name, err)
	}
	r.log.Info("pulled image", "image", name)
	d, err := r.describe(ctx, img)
	if err == nil {
		r.images.put(img, d, true)
	}
	return d, err
}

// localImage returns a present image, unpacking it if it is not yet.
func (r *Runtime) localImage(ctx context.Context, name string) (runtime.Image, error) {
	img, err := r.client.GetImage(ctx, name)
	if errdefs.IsNotFound(err) {
		return runtime.Image{}, fmt.Errorf("image %s: %w", name, runtime.ErrNotFound)
	}
	if err != nil {
		return runtime.Image{}, fmt.Errorf("image %s: %w", name, err)
	}
	if e, ok := r.images.get(img); ok && e.unpacked {
		return e.image, nil
	}
	if err := r.unpack(ctx, img); err != nil {
		return runtime.Image{}, err
	}
	d, err := r.describe(ctx, img)
	if err == nil {
		r.images.put(img, d, true)
	}
	return d, err
}

func (r *Runtime) unpack(ctx context.Context, img containerd.Image) error {
	ok, err := img.IsUnpacked(ctx, r.cfg.Snapshotter)
	if err != nil {
		return fmt.Errorf("image %s: %w", img.Name(), err)
	}
	if ok {
		return nil
	}
	if err := img.Unpack(ctx, r.cfg.Snapshotter); err != nil {
		return fmt.Errorf("unpack image %s: %w", img.Name(), err)
	}
	return nil
}

// describe returns an image with its config's defaults.
func (r *Runtime) describe(ctx context.Context, img containerd.Image) (runtime.Image, error) {
	desc, err := img.Config(ctx)
	if err != nil {
		return runtime.Image{}, fmt.Errorf("image %s: config: %w", img.Name(), err)
	}
	spec, err := img.Spec(ctx)
	if err != nil {
		return runtime.Image{}, fmt.Errorf("image %s: config: %w", img.Name(), err)
	}
	size, err := img.Size(ctx)
	if err != nil {
		return runtime.Image{}, fmt.Errorf("image %s: size: %w", img.Name(), err)
	}
	c := spec.Config
	return runtime.Image{
		Name:       img.Name(),
		ID:         desc.Digest.String(),
		Size:       size,
		Entrypoint: c.Entrypoint,
		Cmd:        c.Cmd,
		Env:        c.Env,
		WorkingDir: c.WorkingDir,
		User:       c.User,
		StopSignal: c.StopSignal,
	}, nil
}

// ImportImage imports an OCI or docker archive, plain or compressed, and
// unpacks its images for this platform.
func (r *Runtime) ImportImage(ctx context.Context, archive io.Reader) ([]string, error) {
	ctx = r.nsctx(ctx)
	rd, err := compression.DecompressStream(archive)
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	defer rd.Close()
	imgs, err := r.client.Import(ctx, rd, containerd.WithImageRefTranslator(importName))
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	var names []string
	for _, meta := range imgs {
		img := containerd.NewImage(r.client, meta)
		if err := r.unpack(ctx, img); err != nil {
			return names, fmt.Errorf("import: %w", err)
		}
		names = append(names, meta.Name)
	}
	if len(names) == 0 {
		return nil, errors.New("import: the archive names no image (an OCI archive needs an " +
			"io.containerd.image.name or a full org.opencontainers.image.ref.name annotation)")
	}
	r.log.Info("imported images", "images", names)
	return names, nil
}

// importName turns an OCI archive's org.opencontainers.image.ref.name into
// an image name: full references are normalised, bare tags (which name no
// repository) are dropped.
func importName(refName string) string {
	if !strings.ContainsAny(refName, "/") {
		return ""
	}
	name, err := normalizeRef(refName)
	if err != nil {
		return ""
	}
	return name
}

// ListImages lists the images of the namespace.
func (r *Runtime) ListImages(ctx context.Context) ([]runtime.Image, error) {
	ctx = r.nsctx(ctx)
	imgs, err := r.client.ListImages(ctx)
	if err != nil {
		return nil, fmt.Errorf("list images: %w", err)
	}
	out := make([]runtime.Image, 0, len(imgs))
	names := make(map[string]bool, len(imgs))
	for _, img := range imgs {
		names[img.Name()] = true
		if e, ok := r.images.get(img); ok {
			out = append(out, e.image)
			continue
		}
		d, err := r.describe(ctx, img)
		if err != nil {
			// Content for another platform only, or being pulled.
			r.log.Debug("skip image", "image", img.Name(), "err", err)
			continue
		}
		r.images.put(img, d, false)
		out = append(out, d)
	}
	r.images.retain(names)
	return out, nil
}

func (r *Runtime) isLocalRegistry(name string) bool {
	domain := registryOf(name)
	for _, h := range r.cfg.LocalRegistries {
		if domain == h {
			return true
		}
	}
	return false
}

// registryOf returns the registry host of an image name.
func registryOf(name string) string {
	n, err := reference.ParseNormalizedNamed(name)
	if err != nil {
		return ""
	}
	return reference.Domain(n)
}

// normalizeRef returns ref in its full form ("busybox" becomes
// "docker.io/library/busybox:latest").
func normalizeRef(ref string) (string, error) {
	n, err := reference.ParseDockerRef(ref)
	if err != nil {
		return "", fmt.Errorf("image reference %q: %w", ref, err)
	}
	return n.String(), nil
}

// newResolver returns containerd's docker resolver with the pull secrets,
// speaking plain HTTP to loopback registries.
func newResolver(auth []runtime.RegistryAuth) remotes.Resolver {
	authorizer := docker.NewDockerAuthorizer(docker.WithAuthCreds(func(host string) (string, string, error) {
		for _, a := range auth {
			if registryHost(a.Server) != host {
				continue
			}
			if a.IdentityToken != "" {
				// An empty user name makes the token a refresh token.
				return "", a.IdentityToken, nil
			}
			return a.Username, a.Password, nil
		}
		return "", "", nil
	}))
	return docker.NewResolver(docker.ResolverOptions{
		Hosts: docker.ConfigureDefaultRegistries(
			docker.WithAuthorizer(authorizer),
			docker.WithPlainHTTP(docker.MatchLocalhost)),
	})
}

// registryHost returns the host the resolver contacts for a pull
// secret's server ("https://index.docker.io/v1/" -> registry-1.docker.io).
func registryHost(server string) string {
	s := server
	if strings.Contains(s, "://") {
		if u, err := url.Parse(s); err == nil {
			s = u.Host
		}
	}
	s, _, _ = strings.Cut(s, "/")
	switch s {
	case "docker.io", "index.docker.io", "registry-1.docker.io":
		return "registry-1.docker.io"
	}
	return s
}
