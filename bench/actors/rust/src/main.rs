//! Peer actor benchmarks written with `ractor` (Rust, tokio runtime).
//!
//! Usage: `actor_bench WORKLOAD [ARGS...]`
//!
//!   pingpong [N]      N round trips between two actors (current_thread runtime)
//!   fanout   [N] [C]  one producer, N msgs round-robin to C consumers (2 workers)
//!   ring     [A] [M]  A actors in a ring, token makes M hops in total
//!   spawn    [N]      spawn N idle actors, time + resident memory per actor
//!   ask      [N]      N sequential request/response calls (`call!`) from main
//!
//! Each run prints exactly one line of JSON on stdout.
//!
//! Runtime: `pingpong` runs on a tokio current_thread runtime, every other
//! workload on a multi-threaded runtime with 2 worker threads. The environment
//! variable `ACTOR_BENCH_WORKERS` overrides that for every workload
//! (`0` = current_thread, `K` = multi-threaded with K workers). The driver
//! ("main task") is itself a task spawned onto that runtime.
//! Sizes accept `_` separators (`1_000_000`).

use std::time::Instant;

use ractor::{call, Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use tokio::sync::{mpsc, oneshot};

/// Version of ractor this binary is built against (pinned with `=` in Cargo.toml).
const PEER: &str = "ractor-0.16.5";

type Res<T = ()> = Result<T, ActorProcessingErr>;

fn send<M: ractor::Message>(to: &ActorRef<M>, msg: M) -> Res {
    to.cast(msg).map_err(|e| format!("send failed: {e}").into())
}

// ---------------------------------------------------------------- pingpong --

struct Pinger;
enum PingerMsg {
    Start {
        ponger: ActorRef<PongerMsg>,
        n: u64,
        done: oneshot::Sender<u64>,
    },
    Pong,
}
#[derive(Default)]
struct PingerState {
    ponger: Option<ActorRef<PongerMsg>>,
    n: u64,
    received: u64,
    done: Option<oneshot::Sender<u64>>,
}

impl Actor for Pinger {
    type Msg = PingerMsg;
    type State = PingerState;
    type Arguments = ();

    async fn pre_start(&self, _: ActorRef<PingerMsg>, _: ()) -> Res<PingerState> {
        Ok(PingerState::default())
    }

    async fn handle(
        &self,
        myself: ActorRef<PingerMsg>,
        msg: PingerMsg,
        st: &mut PingerState,
    ) -> Res {
        match msg {
            PingerMsg::Start { ponger, n, done } => {
                st.n = n;
                st.received = 0;
                st.done = Some(done);
                if n == 0 {
                    let _ = st.done.take().unwrap().send(0);
                } else {
                    send(&ponger, PongerMsg::Ping(myself))?;
                }
                st.ponger = Some(ponger);
            }
            PingerMsg::Pong => {
                st.received += 1;
                if st.received == st.n {
                    let _ = st.done.take().expect("done channel").send(st.received);
                } else {
                    send(st.ponger.as_ref().unwrap(), PongerMsg::Ping(myself))?;
                }
            }
        }
        Ok(())
    }
}

struct Ponger;
enum PongerMsg {
    /// Carries the sender's reference (like a pid in `{ping, From}`); an ActorRef
    /// clone is an Arc increment.
    Ping(ActorRef<PingerMsg>),
    Count(RpcReplyPort<u64>),
}

impl Actor for Ponger {
    type Msg = PongerMsg;
    type State = u64;
    type Arguments = ();

    async fn pre_start(&self, _: ActorRef<PongerMsg>, _: ()) -> Res<u64> {
        Ok(0)
    }

    async fn handle(&self, _: ActorRef<PongerMsg>, msg: PongerMsg, pings: &mut u64) -> Res {
        match msg {
            PongerMsg::Ping(from) => {
                *pings += 1;
                send(&from, PingerMsg::Pong)?;
            }
            PongerMsg::Count(reply) => {
                let _ = reply.send(*pings);
            }
        }
        Ok(())
    }
}

async fn pingpong(n: u64) -> String {
    let (a, ha) = Actor::spawn(None, Pinger, ()).await.expect("spawn A");
    let (b, hb) = Actor::spawn(None, Ponger, ()).await.expect("spawn B");
    let (tx, rx) = oneshot::channel();

    let t0 = Instant::now();
    send(
        &a,
        PingerMsg::Start {
            ponger: b.clone(),
            n,
            done: tx,
        },
    )
    .unwrap();
    let got = rx.await.expect("pingpong done");
    let secs = t0.elapsed().as_secs_f64();

    let pings = call!(b, PongerMsg::Count).expect("count");
    assert_eq!(got, n, "pinger got {got} pongs, expected {n}");
    assert_eq!(pings, n, "ponger got {pings} pings, expected {n}");
    a.stop(None);
    b.stop(None);
    ha.await.unwrap();
    hb.await.unwrap();
    format!(
        r#""n":{n},"seconds":{secs:.6},"ns_per_round_trip":{:.1}"#,
        secs * 1e9 / n.max(1) as f64
    )
}

// ------------------------------------------------------------------ fanout --

struct Consumer;
enum ConsumerMsg {
    Item(#[allow(dead_code)] u64),
    /// Sent by the producer after its last item; mailbox order guarantees every
    /// item from the producer has been counted before this is handled.
    Report,
}
struct ConsumerState {
    count: u64,
    report_to: mpsc::UnboundedSender<u64>,
}

impl Actor for Consumer {
    type Msg = ConsumerMsg;
    type State = ConsumerState;
    type Arguments = mpsc::UnboundedSender<u64>;

    async fn pre_start(
        &self,
        _: ActorRef<ConsumerMsg>,
        report_to: Self::Arguments,
    ) -> Res<ConsumerState> {
        Ok(ConsumerState {
            count: 0,
            report_to,
        })
    }

    async fn handle(
        &self,
        _: ActorRef<ConsumerMsg>,
        msg: ConsumerMsg,
        st: &mut ConsumerState,
    ) -> Res {
        match msg {
            ConsumerMsg::Item(_) => st.count += 1,
            ConsumerMsg::Report => {
                let _ = st.report_to.send(st.count);
            }
        }
        Ok(())
    }
}

struct Producer;
enum ProducerMsg {
    Run {
        n: u64,
        consumers: Vec<ActorRef<ConsumerMsg>>,
    },
}

impl Actor for Producer {
    type Msg = ProducerMsg;
    type State = ();
    type Arguments = ();

    async fn pre_start(&self, _: ActorRef<ProducerMsg>, _: ()) -> Res<()> {
        Ok(())
    }

    async fn handle(&self, _: ActorRef<ProducerMsg>, msg: ProducerMsg, _: &mut ()) -> Res {
        let ProducerMsg::Run { n, consumers } = msg;
        let c = consumers.len() as u64;
        for i in 0..n {
            send(&consumers[(i % c) as usize], ConsumerMsg::Item(i))?;
        }
        for consumer in &consumers {
            send(consumer, ConsumerMsg::Report)?;
        }
        Ok(())
    }
}

async fn fanout(n: u64, c: u64) -> String {
    assert!(c > 0, "need at least one consumer");
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut consumers = Vec::new();
    let mut handles = Vec::new();
    for _ in 0..c {
        let (r, h) = Actor::spawn(None, Consumer, tx.clone())
            .await
            .expect("spawn consumer");
        consumers.push(r);
        handles.push(h);
    }
    let (p, hp) = Actor::spawn(None, Producer, ())
        .await
        .expect("spawn producer");

    let t0 = Instant::now();
    send(
        &p,
        ProducerMsg::Run {
            n,
            consumers: consumers.clone(),
        },
    )
    .unwrap();
    let mut total = 0;
    for i in 0..c {
        let got = rx.recv().await.expect("consumer report");
        // Round-robin: every consumer gets n/c, the first n%c get one more.
        assert!(
            got == n / c || got == n / c + 1,
            "consumer report #{i}: {got}"
        );
        total += got;
    }
    let secs = t0.elapsed().as_secs_f64();
    assert_eq!(total, n, "consumers counted {total}, expected {n}");

    p.stop(None);
    for r in &consumers {
        r.stop(None);
    }
    hp.await.unwrap();
    for h in handles {
        h.await.unwrap();
    }
    format!(
        r#""n":{n},"consumers":{c},"seconds":{secs:.6},"msgs_per_sec":{:.0}"#,
        n as f64 / secs
    )
}

// -------------------------------------------------------------------- ring --

struct Node;
enum RingMsg {
    SetNext(ActorRef<RingMsg>),
    /// Remaining hops. The node that receives `Token(0)` ends the run.
    Token(u64),
}
struct NodeState {
    index: u64,
    next: Option<ActorRef<RingMsg>>,
    done: mpsc::UnboundedSender<u64>,
}

impl Actor for Node {
    type Msg = RingMsg;
    type State = NodeState;
    type Arguments = (u64, mpsc::UnboundedSender<u64>);

    async fn pre_start(
        &self,
        _: ActorRef<RingMsg>,
        (index, done): Self::Arguments,
    ) -> Res<NodeState> {
        Ok(NodeState {
            index,
            next: None,
            done,
        })
    }

    async fn handle(&self, _: ActorRef<RingMsg>, msg: RingMsg, st: &mut NodeState) -> Res {
        match msg {
            RingMsg::SetNext(next) => st.next = Some(next),
            RingMsg::Token(0) => {
                let _ = st.done.send(st.index);
            }
            RingMsg::Token(k) => send(
                st.next.as_ref().expect("ring not linked"),
                RingMsg::Token(k - 1),
            )?,
        }
        Ok(())
    }
}

async fn ring(a: u64, m: u64) -> String {
    assert!(a > 0, "need at least one ring member");
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut nodes = Vec::with_capacity(a as usize);
    let mut handles = Vec::with_capacity(a as usize);
    let t_spawn = Instant::now();
    for i in 0..a {
        let (r, h) = Actor::spawn(None, Node, (i, tx.clone()))
            .await
            .expect("spawn node");
        nodes.push(r);
        handles.push(h);
    }
    for i in 0..a as usize {
        send(
            &nodes[i],
            RingMsg::SetNext(nodes[(i + 1) % a as usize].clone()),
        )
        .unwrap();
    }
    let spawn_secs = t_spawn.elapsed().as_secs_f64();

    let t0 = Instant::now();
    send(&nodes[0], RingMsg::Token(m)).unwrap();
    let last = rx.recv().await.expect("ring done");
    let secs = t0.elapsed().as_secs_f64();
    assert_eq!(
        last,
        m % a,
        "token stopped at node {last}, expected {}",
        m % a
    );

    for r in &nodes {
        r.stop(None);
    }
    for h in handles {
        h.await.unwrap();
    }
    format!(
        r#""actors":{a},"hops":{m},"seconds":{secs:.6},"hops_per_sec":{:.0},"setup_seconds":{spawn_secs:.6}"#,
        m as f64 / secs
    )
}

// ------------------------------------------------------------------- spawn --

struct Idle;

impl Actor for Idle {
    /// Idle actors only ever wait; they are stopped with ractor's stop signal.
    type Msg = ();
    type State = ();
    type Arguments = ();

    async fn pre_start(&self, _: ActorRef<()>, _: ()) -> Res<()> {
        Ok(())
    }
}

fn vm_rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .expect("VmRSS line");
    let kb: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .expect("VmRSS value");
    kb * 1024
}

async fn spawn(n: u64) -> String {
    // The Vec that keeps (ActorRef, JoinHandle) costs 16 bytes per actor; its
    // pages are touched during the measurement, so it is included (as Erlang's
    // list of pids is included in erlang:memory(total)).
    let mut actors = Vec::with_capacity(n as usize);
    let rss0 = vm_rss_bytes();
    let t0 = Instant::now();
    for _ in 0..n {
        actors.push(Actor::spawn(None, Idle, ()).await.expect("spawn idle"));
    }
    let secs = t0.elapsed().as_secs_f64();
    let rss1 = vm_rss_bytes();

    let t1 = Instant::now();
    for (r, _) in &actors {
        r.stop(None);
    }
    let mut stopped = 0u64;
    for (_, h) in actors {
        h.await.unwrap();
        stopped += 1;
    }
    let stop_secs = t1.elapsed().as_secs_f64();
    assert_eq!(stopped, n);
    let growth = rss1.saturating_sub(rss0);
    format!(
        r#""n":{n},"seconds":{secs:.6},"us_per_spawn":{:.3},"rss_before":{rss0},"rss_after":{rss1},"bytes_per_actor":{:.0},"stop_seconds":{stop_secs:.6}"#,
        secs * 1e6 / n.max(1) as f64,
        growth as f64 / n.max(1) as f64
    )
}

// --------------------------------------------------------------------- ask --

struct Server;
enum ServerMsg {
    Ask(u64, RpcReplyPort<u64>),
}

impl Actor for Server {
    type Msg = ServerMsg;
    type State = u64;
    type Arguments = ();

    async fn pre_start(&self, _: ActorRef<ServerMsg>, _: ()) -> Res<u64> {
        Ok(0)
    }

    async fn handle(&self, _: ActorRef<ServerMsg>, msg: ServerMsg, served: &mut u64) -> Res {
        let ServerMsg::Ask(x, reply) = msg;
        *served += 1;
        let _ = reply.send(x + 1);
        Ok(())
    }
}

async fn ask(n: u64) -> String {
    let (s, hs) = Actor::spawn(None, Server, ()).await.expect("spawn server");
    let t0 = Instant::now();
    for i in 0..n {
        let r = call!(s, ServerMsg::Ask, i).expect("call");
        assert_eq!(r, i + 1);
    }
    let secs = t0.elapsed().as_secs_f64();
    s.stop(None);
    hs.await.unwrap();
    format!(
        r#""n":{n},"seconds":{secs:.6},"us_per_ask":{:.3}"#,
        secs * 1e6 / n.max(1) as f64
    )
}

// -------------------------------------------------------------------- main --

fn arg(args: &[String], i: usize, default: u64) -> u64 {
    match args.get(i) {
        None => default,
        Some(s) => s
            .replace('_', "")
            .parse()
            .unwrap_or_else(|_| usage(&format!("bad number: {s}"))),
    }
}

fn usage(why: &str) -> ! {
    eprintln!("actor_bench: {why}");
    eprintln!(
        "usage: actor_bench pingpong [N] | fanout [N] [C] | ring [A] [M] | spawn [N] | ask [N]"
    );
    std::process::exit(2)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let workload = args
        .first()
        .map(String::as_str)
        .unwrap_or_else(|| usage("missing workload"));

    let default_workers = if workload == "pingpong" { 0 } else { 2 };
    let workers: usize = match std::env::var("ACTOR_BENCH_WORKERS") {
        Ok(v) if !v.is_empty() => v
            .parse()
            .unwrap_or_else(|_| usage("bad ACTOR_BENCH_WORKERS")),
        _ => default_workers,
    };
    let rt = if workers == 0 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .enable_all()
            .build()
    }
    .expect("build tokio runtime");
    let runtime = if workers == 0 {
        "current_thread".to_string()
    } else {
        format!("multi_thread_{workers}")
    };

    // Parse arguments before starting anything so usage errors exit cleanly.
    let sizes: Vec<u64> = match workload {
        "pingpong" => vec![arg(&args, 1, 1_000_000)],
        "fanout" => vec![arg(&args, 1, 10_000_000), arg(&args, 2, 4)],
        "ring" => vec![arg(&args, 1, 10_000), arg(&args, 2, 1_000_000)],
        "spawn" => vec![arg(&args, 1, 1_000_000)],
        "ask" => vec![arg(&args, 1, 100_000)],
        other => usage(&format!("unknown workload: {other}")),
    };
    let workload_owned = workload.to_string();
    // The driver ("main task") is spawned onto the runtime, so on the
    // multi-threaded runtime it runs on a worker thread next to the actors (as
    // Erlang's main process is an ordinary process on a scheduler). With a bare
    // `block_on` it would run on the OS main thread instead, and every message
    // to or from it would cost a cross-thread park/unpark.
    let body = rt
        .block_on(rt.spawn(async move {
            match workload_owned.as_str() {
                "pingpong" => pingpong(sizes[0]).await,
                "fanout" => fanout(sizes[0], sizes[1]).await,
                "ring" => ring(sizes[0], sizes[1]).await,
                "spawn" => spawn(sizes[0]).await,
                "ask" => ask(sizes[0]).await,
                _ => unreachable!(),
            }
        }))
        .expect("benchmark task panicked");
    println!(r#"{{"workload":"{workload}","peer":"{PEER}","runtime":"{runtime}",{body}}}"#);
}
