package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/pony-build/pony"
	"github.com/pony-build/pony/client"
)

// liveInterval is how often a running step's progress is reported to the
// server.
const liveInterval = 5 * time.Second

// runFlags are `pony-report run`'s own flags.
type runFlags struct {
	junit, tap, gotest, setup, build listFlag
	config, name, progress           string
	timeLimit                        time.Duration
	noLive                           bool
}

// runRun is `pony-report run [FLAGS] -- CMD ARGS...`: run a test command
// (or the steps of a pony.yaml), pass its output through, build the bag
// from what it printed and the report files it wrote, report it live to the
// server, and exit with the command's status.
func runRun(ctx context.Context, e *cmdEnv, args []string) int {
	var c common
	var rf runFlags
	fs := newFlagSet(e, "run", "[-- CMD ARGS...]", "Run a test command (or the steps of pony.yaml), pass its output through, and send its results as one bag")
	c.addSendFlags(fs, e.getenv)
	c.addBagFlags(fs, e.getenv)
	fs.BoolVar(&c.dryRun, "dry-run", false, "print the bag on stdout after the command, and send nothing")
	addJUnitOut(fs, &c)
	fs.Var(&rf.junit, "junit", "JUnit XML report `glob` the command writes (** for any directories), read after it exits; repeatable (files the command names itself, such as pytest --junitxml, and Maven's and Gradle's reports are read without it)")
	fs.Var(&rf.tap, "tap", "TAP report `glob` the command writes; repeatable")
	fs.Var(&rf.gotest, "gotest", "go test -json report `glob` the command writes; repeatable")
	fs.Var(&rf.setup, "setup", "a setup `command` (run with sh -c) before the main one; repeatable")
	fs.Var(&rf.build, "build", "a build `command` (run with sh -c) before the main one, after --setup; repeatable")
	fs.StringVar(&rf.config, "config", "", "steps `file` (default: ./"+client.ConfigFile+" when no command is given)")
	fs.StringVar(&rf.name, "name", "", "the main step's `name` (default: the command line)")
	fs.DurationVar(&rf.timeLimit, "time-limit", 0, "stop a command running longer than this `duration` (SIGTERM, SIGKILL 10s later); 0: none")
	fs.BoolVar(&rf.noLive, "no-live", false, "send the bag once at the end instead of reporting the run live")
	fs.StringVar(&rf.progress, "progress", client.ProgressAuto, "progress line on stderr: auto (when a terminal), always or never")
	argv, err := parseRunArgs(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		e.say("%v", err)
		return exitUsage
	}
	if err := checkServer(c.server); err != nil {
		e.say("%v", err)
		return exitUsage
	}
	showProgress, err := client.ProgressOn(rf.progress, e.stderr)
	if err != nil {
		e.say("%v", err)
		return exitUsage
	}
	cmds, cfg, ok := runCommands(e, &rf, argv)
	if !ok {
		return exitUsage
	}

	// client_info: the machine, then pony.yaml, then the flags.
	wantGo := false
	for _, cmd := range cmds {
		if _, isGo, _, _ := client.GoTestJSON(cmd.Argv); isGo {
			wantGo = c.runtime == ""
		}
	}
	bag := &pony.Bag{}
	var cuts []pony.Cut // what was cut to fit the limits
	collector := client.NewCollector(osEnv(e.getenv))
	got := collector.Collect(ctx, wantGo)
	// The runtimes on PATH that the commands are about are asked while
	// they run.
	argvs := make([][]string, len(cmds))
	for i, cmd := range cmds {
		argvs[i] = cmd.Argv
	}
	runtimes := make(chan map[string]string, 1)
	go func() { runtimes <- collector.Runtimes(ctx, client.RuntimesFor(argvs...)...) }()
	bag.ClientInfo = got.Info
	ci := &bag.ClientInfo
	from := got.PackageFrom
	if cfg != nil {
		if cfg.Package != "" {
			ci.Package, from = cfg.Package, ""
		}
		ci.Tags = append(ci.Tags, cfg.Tags...)
		if err := client.ApplySets(ci, cfg.Set); err != nil {
			e.say("%s: %v", cfg.File, err)
			return exitUsage
		}
	}
	if c.pkg != "" {
		ci.Package, from = c.pkg, ""
	}
	if c.host != "" {
		ci.Host = c.host
	}
	if c.arch != "" {
		ci.Arch = c.arch
	}
	if c.runtime != "" {
		ci.Runtime = c.runtime
	}
	ci.Tags = append(ci.Tags, c.tags...)
	if err := client.ApplySets(ci, c.sets); err != nil {
		e.say("%v", err)
		return exitUsage
	}
	if strings.TrimSpace(ci.Package) == "" {
		e.say("no package name: set --package or PONY_PACKAGE")
		return exitUsage
	}
	env, err := client.NewEnvelope(bag, c.server)
	if err != nil {
		e.say("%v", err)
		return exitUsage
	}

	// Reading the output and sending outlive an interrupt (main cancels
	// ctx on SIGINT and SIGTERM): the run's results are still wanted.
	sendCtx := context.WithoutCancel(ctx)
	sender := c.sender(e.getenv)
	var live *liveReporter
	// client_info fitted to the limits before the run is opened with it
	// (the server would refuse the run, 413, and live reporting stop).
	bag.ToValidUTF8()
	cuts = append(cuts, bag.Fit(pony.DefaultLimits)...)
	if !c.dryRun && !rf.noLive {
		live = startLive(sendCtx, &client.Live{Sender: sender, Server: c.server, IdempotencyKey: env.IdempotencyKey}, bag)
	}

	count := &client.TestCount{}
	var (
		mu      sync.Mutex
		current string
	)
	started := time.Now()
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	runner := &client.Runner{
		Stdin: e.stdin, Stdout: e.stdout, Stderr: e.stderr,
		Signals: sigs, Count: count, KeepPassingOutput: c.keepOutput,
	}
	say := e.say
	var line *client.ProgressLine
	if showProgress {
		line = &client.ProgressLine{W: e.stderr, Status: func() string {
			mu.Lock()
			step := current
			mu.Unlock()
			tests, failed := count.Load()
			return client.ProgressText(tests, failed, time.Since(started), step)
		}}
		runner.Stdout, runner.Stderr = line.Wrap(e.stdout), line.Wrap(e.stderr)
		quiet := &cmdEnv{stderr: runner.Stderr}
		say = quiet.say
		line.Start()
	}
	runner.Say = say

	verdict := exitOK
	var skipped []string
	stopped := ""
	for _, cmd := range cmds {
		if stopped == "" {
			select {
			case s := <-sigs:
				stopped = fmt.Sprintf("pony-report received %v", s)
			default:
			}
		}
		if stopped != "" {
			skipped = append(skipped, stepLabel(cmd))
			continue
		}
		mu.Lock()
		current = stepLabel(cmd)
		mu.Unlock()
		stopTick := live.tick(func() client.LiveProgress {
			tests, failed := count.Load()
			return client.LiveProgress{Step: stepLabel(cmd), Tests: tests, Failed: failed, Elapsed: time.Since(started).Seconds()}
		})
		sr := runner.Run(sendCtx, cmd)
		stopTick()
		for _, p := range sr.Problems {
			say("%v (the good tests before it are kept; the step is marked incomplete)", p)
		}
		for _, st := range append([]pony.Step{sr.Step}, sr.FileSteps...) {
			// Fitted to the limits before it is streamed: the server
			// would refuse a step with a name over them (413).
			one := pony.Bag{Steps: []pony.Step{st}}
			one.ToValidUTF8()
			cuts = append(cuts, one.Fit(pony.DefaultLimits)...)
			bag.Steps = append(bag.Steps, one.Steps[0])
			live.step(one.Steps[0])
		}
		if v := sr.Verdict(); v != 0 && verdict == exitOK {
			verdict = v
		}
		switch {
		case runner.Interrupted():
			stopped = "interrupted"
		case sr.Failed() && (cmd.Type == "setup" || cmd.Type == "build") && !cmd.ContinueOnError:
			stopped = fmt.Sprintf("%s step %q failed", cmd.Type, stepLabel(cmd))
		}
	}
	if line != nil {
		line.Stop()
	}
	signal.Stop(sigs)
	if len(skipped) > 0 {
		e.say("%s; not run: %s", stopped, strings.Join(skipped, ", "))
	}
	ci.Duration = time.Since(started).Seconds()
	versions := <-runtimes
	// A runtime the output or a report names is the one under test (a
	// virtualenv, tox, a pytest that is not the python on PATH, a Maven
	// toolchain): it wins over the one on PATH.
	for _, named := range []map[string]string{client.StepRuntimes(bag.Steps), count.Runtimes()} {
		for name, v := range named {
			if versions == nil {
				versions = map[string]string{}
			}
			versions[name] = v
		}
	}
	client.ApplyRuntimes(ci, versions, cmds[len(cmds)-1].Argv)
	// A command whose runtime cannot be told (make, a script) ran the
	// tests on the one its report names, if it names one.
	if ci.Runtime == "" {
		ci.Runtime = client.FirstStepRuntime(bag.Steps)
	}
	bag.ToValidUTF8() // the command's own output may hold any bytes
	if cuts = append(cuts, bag.Fit(pony.DefaultLimits)...); len(cuts) > 0 {
		e.say("%s", client.FitSummary(cuts))
	}
	if err := bag.Validate(pony.DefaultLimits); err != nil {
		e.say("%v; nothing was sent", err)
		return lost(verdict)
	}
	if !writeJUnitOut(e, &c, bag) {
		return lost(verdict)
	}
	final, err := client.NewEnvelope(bag, c.server)
	if err != nil {
		e.say("%v", err)
		return lost(verdict)
	}
	final.IdempotencyKey, final.Created = env.IdempotencyKey, env.Created
	summary := client.Summary(bag)
	if hint := client.NoTestsHint(bag, cmds[len(cmds)-1].Argv); hint != "" && len(skipped) == 0 {
		e.say("%s", hint)
	}
	if c.dryRun {
		if err := printBag(e.stdout, bag); err != nil {
			e.say("write bag: %v", err)
			return lost(verdict)
		}
		if from != "" {
			e.say("package %q (from %s; set --package or PONY_PACKAGE to change it)", ci.Package, from)
		}
		e.say("%s → not sent (--dry-run; would POST to %s)", summary, c.server)
		return verdict
	}
	if live != nil {
		if rec, err := live.finish(sendCtx, final); err == nil {
			e.say("%s → sent as %s (live)", summary, rec.ResultKey)
			return verdict
		} else if !errors.Is(err, client.ErrNotOpen) {
			e.say("live report: %v; sending the whole bag instead", err)
		}
	}
	d, err := client.Deliver(sendCtx, sender, &client.Spool{Dir: c.spoolDir}, final)
	if err != nil {
		e.say("%s → NOT sent: %v", summary, err)
		return lost(verdict)
	}
	if d.Spooled != "" {
		e.say("%s → spooled", summary)
		e.say("%v; the bag was spooled to %s; %s", d.Err, d.Spooled, explain(d.Err))
		return verdict
	}
	to := d.Receipt.ResultKey
	if to == "" {
		to = "a result at " + c.server
	}
	e.say("%s → sent as %s", summary, to)
	if n := len(d.Flushed.Sent); n > 0 {
		e.say("also sent %s spooled earlier", plural(n, "bag"))
	}
	return verdict
}

// lost is the exit status when the bag could not be kept: the command's own
// when it failed, else 2 so that CI notices.
func lost(verdict int) int {
	if verdict != exitOK {
		return verdict
	}
	return exitUsage
}

// stepLabel names a command in messages.
func stepLabel(c client.Command) string {
	if c.Name != "" {
		return c.Name
	}
	return client.CommandLine(c.Argv)
}

// parseRunArgs splits run's arguments into flags and the command. With
// "--", flags may come anywhere before it and the command is what follows;
// without, flags end at the first argument that is not one.
func parseRunArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	for i, a := range args {
		if a == "--" {
			pos, err := parseArgs(fs, args[:i])
			if err != nil {
				return nil, err
			}
			if len(pos) > 0 {
				return nil, fmt.Errorf("unexpected %q before --: put the command after --", pos[0])
			}
			return args[i+1:], nil
		}
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	return fs.Args(), nil
}

// runCommands makes the list of commands to run from the flags, the command
// line and pony.yaml.
func runCommands(e *cmdEnv, rf *runFlags, argv []string) ([]client.Command, *client.Config, bool) {
	var reports []client.ReportGlob
	for _, g := range []struct {
		format string
		globs  listFlag
	}{{"junit", rf.junit}, {"tap", rf.tap}, {"gotest", rf.gotest}} {
		for _, p := range g.globs {
			reports = append(reports, client.ReportGlob{Format: g.format, Pattern: p})
		}
	}
	var cmds []client.Command
	for _, s := range rf.setup {
		cmds = append(cmds, client.Command{Type: "setup", Argv: []string{"sh", "-c", s}, TimeLimit: rf.timeLimit})
	}
	for _, s := range rf.build {
		cmds = append(cmds, client.Command{Type: "build", Argv: []string{"sh", "-c", s}, TimeLimit: rf.timeLimit})
	}
	if len(argv) > 0 {
		if rf.config != "" {
			e.say("give either a command or --config, not both")
			return nil, nil, false
		}
		cmds = append(cmds, client.Command{Name: rf.name, Type: "test", Argv: argv, TimeLimit: rf.timeLimit, Reports: reports})
		return cmds, nil, true
	}
	file := rf.config
	if file == "" {
		if _, err := os.Stat(client.ConfigFile); err != nil {
			e.say("no command to run: give one after -- (pony-report run -- go test ./...), or write a %s", client.ConfigFile)
			return nil, nil, false
		}
		file = client.ConfigFile
	}
	if len(reports) > 0 || rf.name != "" || len(cmds) > 0 {
		e.say("--junit, --tap, --gotest, --name, --setup and --build go with a command; in %s, set them on the steps", file)
		return nil, nil, false
	}
	cfg, err := client.LoadConfig(file)
	if err != nil {
		e.say("%v", err)
		return nil, nil, false
	}
	for i := range cfg.Steps {
		if cfg.Steps[i].TimeLimit == 0 {
			cfg.Steps[i].TimeLimit = rf.timeLimit
		}
	}
	return cfg.Steps, cfg, true
}

// liveReporter drives a client.Live from one goroutine, so that a slow
// server never holds the command up: calls are queued and made in order.
type liveReporter struct {
	live      *client.Live
	ctx       context.Context
	ops       chan func()
	idle      chan struct{}
	finishing chan struct{}
}

func startLive(ctx context.Context, l *client.Live, b *pony.Bag) *liveReporter {
	r := &liveReporter{live: l, ctx: ctx, ops: make(chan func(), 1024), idle: make(chan struct{}), finishing: make(chan struct{})}
	opening := *b
	r.ops <- func() { l.Open(ctx, &opening) }
	go func() {
		defer close(r.idle)
		for op := range r.ops {
			select {
			case <-r.finishing:
				// The whole bag goes with finish: queued steps need not.
				continue
			default:
			}
			op()
		}
	}()
	return r
}

// step queues a finished step.
func (r *liveReporter) step(s pony.Step) {
	if r == nil {
		return
	}
	r.ops <- func() { r.live.Step(r.ctx, s) }
}

// tick reports progress every liveInterval until the returned func is
// called.
func (r *liveReporter) tick(p func() client.LiveProgress) (stop func()) {
	if r == nil {
		return func() {}
	}
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(liveInterval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				r.live.Progress(r.ctx, p())
			}
		}
	}()
	return func() { close(done); <-stopped }
}

// finish waits for the call under way, drops the queued steps (the bag has
// them) and closes the run with the whole bag.
func (r *liveReporter) finish(ctx context.Context, env *client.Envelope) (*pony.Receipt, error) {
	close(r.finishing)
	close(r.ops)
	<-r.idle
	if r.live.ResultKey() == "" {
		return nil, client.ErrNotOpen
	}
	return r.live.Finish(ctx, env)
}
