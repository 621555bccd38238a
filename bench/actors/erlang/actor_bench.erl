#!/usr/bin/env escript
%%! +P 4194304 -smp enable
%% Peer actor benchmarks in Erlang/OTP (the same workloads as ../rust).
%%
%% Usage:
%%   escript actor_bench.erl WORKLOAD [ARGS...]
%%   ERL_FLAGS="+S 1" escript actor_bench.erl WORKLOAD [ARGS...]   # one scheduler
%% (`-mode(compile)` makes escript compile the module, so it runs JIT-compiled
%% like an erlc-built module; the `%%!` line above raises the process limit.)
%%
%%   pingpong [N]      N round trips between two processes (1 scheduler online)
%%   fanout   [N] [C]  one producer, N msgs round-robin to C consumers
%%   ring     [A] [M]  A processes in a ring, token makes M hops in total
%%   spawn    [N]      spawn N idle processes, time + memory per process
%%   ask      [N]      N sequential gen_server:call/2 from the main process
%%
%% Prints exactly one line of JSON. Sizes accept `_` separators (1_000_000).
%% `pingpong` sets schedulers_online to 1 (per round trip on one thread, like
%% the tokio current_thread runtime on the Rust side); every other workload
%% runs with the VM's default schedulers (one per core: 2 on the bench box).
-module(actor_bench).
-mode(compile).
-behaviour(gen_server).

-export([main/1]).
-export([init/1, handle_call/3, handle_cast/2]).

main(Args) ->
    try run(Args) of
        Body ->
            Peer = io_lib:format("erlang-otp-~s-erts-~s",
                                 [erlang:system_info(otp_release),
                                  erlang:system_info(version)]),
            io:format("{\"workload\":\"~s\",\"peer\":\"~s\",\"schedulers\":~b,~s}~n",
                      [hd(Args), Peer, sched_used(hd(Args)), Body]),
            halt(0)
    catch
        throw:{usage, Why} ->
            io:format(standard_error, "actor_bench: ~s~nusage: actor_bench pingpong [N] | "
                      "fanout [N] [C] | ring [A] [M] | spawn [N] | ask [N]~n", [Why]),
            halt(2);
        Class:Reason:Stack ->
            io:format(standard_error, "actor_bench: ~p:~p~n~p~n", [Class, Reason, Stack]),
            halt(1)
    end.

sched_used("pingpong") -> 1;
sched_used(_) -> erlang:system_info(schedulers_online).

run([]) -> throw({usage, "missing workload"});
run(["pingpong" | A]) -> pingpong(arg(A, 1, 1000000));
run(["fanout" | A]) -> fanout(arg(A, 1, 10000000), arg(A, 2, 4));
run(["ring" | A]) -> ring(arg(A, 1, 10000), arg(A, 2, 1000000));
run(["spawn" | A]) -> spawn_idle(arg(A, 1, 1000000));
run(["ask" | A]) -> ask(arg(A, 1, 100000));
run([W | _]) -> throw({usage, "unknown workload: " ++ W}).

arg(Args, I, Default) when length(Args) < I -> Default;
arg(Args, I, _) ->
    S = lists:nth(I, Args),
    try list_to_integer([C || C <- S, C =/= $_])
    catch error:badarg -> throw({usage, "bad number: " ++ S})
    end.

now_ns() -> erlang:monotonic_time(nanosecond).
secs(T0, T1) -> (T1 - T0) / 1.0e9.

%% ---------------------------------------------------------------- pingpong --

pingpong(N) ->
    Prev = erlang:system_flag(schedulers_online, 1),
    Main = self(),
    B = spawn(fun() -> ponger(0) end),
    A = spawn(fun() -> receive go -> pinger(B, N, 0, Main) end end),
    T0 = now_ns(),
    A ! go,
    Got = receive {pingpong_done, X} -> X end,
    T1 = now_ns(),
    B ! {count, self()},
    Pings = receive {pings, P} -> P end,
    B ! stop,
    erlang:system_flag(schedulers_online, Prev),
    N = Got, N = Pings,
    S = secs(T0, T1),
    io_lib:format("\"n\":~b,\"seconds\":~.6f,\"ns_per_round_trip\":~.1f",
                  [N, S, S * 1.0e9 / max(N, 1)]).

pinger(_B, N, N, Main) -> Main ! {pingpong_done, N};
pinger(B, N, Got, Main) ->
    B ! {ping, self()},
    receive pong -> pinger(B, N, Got + 1, Main) end.

ponger(Pings) ->
    receive
        {ping, From} -> From ! pong, ponger(Pings + 1);
        {count, From} -> From ! {pings, Pings}, ponger(Pings);
        stop -> ok
    end.

%% ------------------------------------------------------------------ fanout --

fanout(_N, C) when C < 1 -> throw({usage, "need at least one consumer"});
fanout(N, C) ->
    Main = self(),
    Consumers = list_to_tuple([spawn(fun() -> consumer(0, Main) end) || _ <- lists:seq(1, C)]),
    Producer = spawn(fun() -> receive go -> produce(0, N, C, Consumers) end end),
    T0 = now_ns(),
    Producer ! go,
    Total = collect_counts(C, N div C, 0),
    T1 = now_ns(),
    N = Total,
    S = secs(T0, T1),
    io_lib:format("\"n\":~b,\"consumers\":~b,\"seconds\":~.6f,\"msgs_per_sec\":~b",
                  [N, C, S, round(N / S)]).

produce(N, N, C, Consumers) ->
    %% Per-pair message order guarantees each consumer has counted every item
    %% from this producer before it handles `report`.
    [element(I, Consumers) ! report || I <- lists:seq(1, C)],
    ok;
produce(I, N, C, Consumers) ->
    element(I rem C + 1, Consumers) ! {item, I},
    produce(I + 1, N, C, Consumers).

consumer(Count, Main) ->
    receive
        {item, _} -> consumer(Count + 1, Main);
        report -> Main ! {count, Count}
    end.

collect_counts(0, _Share, Total) -> Total;
collect_counts(K, Share, Total) ->
    receive
        {count, X} when X =:= Share; X =:= Share + 1 -> collect_counts(K - 1, Share, Total + X);
        {count, X} -> error({bad_consumer_count, X})
    end.

%% -------------------------------------------------------------------- ring --

ring(A, _M) when A < 1 -> throw({usage, "need at least one ring member"});
ring(A, M) ->
    Main = self(),
    TS = now_ns(),
    Nodes = list_to_tuple([spawn(fun() -> ring_node_init(I, Main) end) || I <- lists:seq(0, A - 1)]),
    [element(I + 1, Nodes) ! {next, element((I + 1) rem A + 1, Nodes)} || I <- lists:seq(0, A - 1)],
    Setup = secs(TS, now_ns()),
    T0 = now_ns(),
    element(1, Nodes) ! {token, M},
    Last = receive {ring_done, L} -> L end,
    T1 = now_ns(),
    Last = M rem A,
    [exit(P, kill) || P <- tuple_to_list(Nodes)],
    S = secs(T0, T1),
    io_lib:format("\"actors\":~b,\"hops\":~b,\"seconds\":~.6f,\"hops_per_sec\":~b,\"setup_seconds\":~.6f",
                  [A, M, S, round(M / S), Setup]).

ring_node_init(I, Main) ->
    receive {next, Next} -> ring_node(I, Next, Main) end.

ring_node(I, Next, Main) ->
    receive
        {token, 0} -> Main ! {ring_done, I}, ring_node(I, Next, Main);
        {token, K} -> Next ! {token, K - 1}, ring_node(I, Next, Main)
    end.

%% ------------------------------------------------------------------- spawn --

spawn_idle(N) ->
    Limit = erlang:system_info(process_limit),
    N + 10 =< Limit orelse throw({usage, io_lib:format("N=~b exceeds process_limit ~b (raise +P)", [N, Limit])}),
    garbage_collect(),
    M0 = erlang:memory(total),
    R0 = vm_rss(),
    T0 = now_ns(),
    Pids = spawn_n(N, []),
    T1 = now_ns(),
    M1 = erlang:memory(total),
    R1 = vm_rss(),
    Main = self(),
    TS = now_ns(),
    [P ! {stop, Main} || P <- Pids],
    Stopped = wait_stopped(N, 0),
    StopS = secs(TS, now_ns()),
    N = Stopped,
    S = secs(T0, T1),
    io_lib:format("\"n\":~b,\"seconds\":~.6f,\"us_per_spawn\":~.3f,\"memory_before\":~b,\"memory_after\":~b,"
                  "\"bytes_per_actor\":~b,\"rss_bytes_per_actor\":~b,\"stop_seconds\":~.6f",
                  [N, S, S * 1.0e6 / max(N, 1), M0, M1, round((M1 - M0) / max(N, 1)),
                   round((R1 - R0) / max(N, 1)), StopS]).

spawn_n(0, Acc) -> Acc;
spawn_n(K, Acc) -> spawn_n(K - 1, [spawn(fun idle/0) | Acc]).

idle() ->
    receive {stop, From} -> From ! stopped end.

wait_stopped(0, Count) -> Count;
wait_stopped(K, Count) -> receive stopped -> wait_stopped(K - 1, Count + 1) end.

vm_rss() ->
    {ok, Bin} = file:read_file("/proc/self/status"),
    [Line] = [L || L <- binary:split(Bin, <<"\n">>, [global]), binary:part(L, 0, min(6, byte_size(L))) =:= <<"VmRSS:">>],
    [_, Kb | _] = binary:split(Line, [<<" ">>, <<"\t">>], [global, trim_all]),
    binary_to_integer(Kb) * 1024.

%% --------------------------------------------------------------------- ask --

ask(N) ->
    {ok, Server} = gen_server:start(?MODULE, [], []),
    T0 = now_ns(),
    ok = ask_loop(Server, 0, N),
    T1 = now_ns(),
    Served = gen_server:call(Server, served),
    N = Served,
    gen_server:stop(Server),
    S = secs(T0, T1),
    io_lib:format("\"n\":~b,\"seconds\":~.6f,\"us_per_ask\":~.3f", [N, S, S * 1.0e6 / max(N, 1)]).

ask_loop(_Server, N, N) -> ok;
ask_loop(Server, I, N) ->
    R = gen_server:call(Server, {ask, I}),
    R = I + 1,
    ask_loop(Server, I + 1, N).

%% gen_server callbacks for `ask` (state: number of requests served).
init([]) -> {ok, 0}.
handle_call({ask, X}, _From, Served) -> {reply, X + 1, Served + 1};
handle_call(served, _From, Served) -> {reply, Served, Served}.
handle_cast(_Msg, Served) -> {noreply, Served}.
