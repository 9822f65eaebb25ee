// llm-proxy entry point: flags, config, signals and wiring only.
#include <CLI/CLI.hpp>
#include <csignal>
#include <malloc.h>
#include <sys/resource.h>
#include <iostream>
#include <optional>
#include <utility>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <thread>

#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include "app/convert_command.hpp"
#include "app/keys_command.hpp"
#include "app/migrate_command.hpp"
#include "app/usage_command.hpp"
#include "core/config.hpp"
#include "app/worker.hpp"
#include "admin/admin_api.hpp"
#include "control/config_manager.hpp"
#include "control/file_watch.hpp"
#include "control/health_checker.hpp"
#include "pipeline/openapi.hpp"
#include "control/snapshot_publisher.hpp"
#include "script/script_set.hpp"
#include "store/redis_quota_backend.hpp"
#include "observe/request_log.hpp"
#include "control/state_sync.hpp"
#include "store/request_log_table.hpp"
#include "store/usage_ledger.hpp"
#include "store/store.hpp"
#include "usage/webhook_sink.hpp"

namespace {

using namespace llmproxy;

constexpr const char* kVersion = "0.1.0";

// Every relayed request holds two descriptors (client and upstream): take the hard limit the
// system allows, as nginx's worker_rlimit_nofile would, instead of the shell's soft 1024.
void RaiseFileLimit() {
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= limit.rlim_max) return;
    limit.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &limit) != 0) spdlog::warn("cannot raise the file descriptor limit");
}

// Used when no --config is given: one demo provider, the bundled mock upstream on :9000.
constexpr const char* kEmbeddedConfig = R"(
server:
  listen: "127.0.0.1:8080"
providers:
  - name: demo
    base_url: "http://127.0.0.1:9000/v1"
    models: ["*"]
routing:
  default_model: demo-model
)";

void PrintErrors(const core::ConfigResult& r) {
    for (const auto& w : r.warnings) std::cerr << "warning: " << w << "\n";
    for (const auto& e : r.errors) std::cerr << "error: " << e << "\n";
}

// The Python llm-proxy service has no config file: with DB_URL set and no --config, the
// gateway runs as it did, from the environment and the database (providers and credentials
// added through the admin API), on PORT (default 18000).
std::string EnvironmentConfig(const std::string& db_url) {
    const char* port = std::getenv("PORT");
    std::string yaml = "server:\n  listen: \"0.0.0.0:" + std::string(port && *port ? port : "18000") + "\"\n";
    yaml += "providers: []\nauth:\n  enabled: true\ndatabase:\n  url: \"";
    for (char c : db_url) {
        if (c == '"' || c == '\\') yaml.push_back('\\');
        if (c == '$') yaml.push_back('$');  // taken literally, not as ${ENV}
        yaml.push_back(c);
    }
    return yaml + "\"\n";
}

std::string Env(const char* name) {
    const char* v = std::getenv(name);
    return v ? v : "";
}

// Where finished requests go: the access log, the usage webhook, the usage ledger, the request
// log. Opened before the workers start; stopped after they end, so that every queued event is
// written, delivered or spooled.
struct ProcessSinks {
    std::unique_ptr<observe::AccessLog> access_log;
    std::unique_ptr<usage::WebhookSink> webhook;
    std::unique_ptr<store::UsageLedger> ledger;
    std::unique_ptr<observe::RequestLog> request_log;

    /// Prints the reason and returns false when one cannot be opened.
    bool Open(const core::Config& config, std::size_t workers, SharedState& shared) {
        try {
            access_log = observe::AccessLog::Open(config.logging.access_log, workers);
        } catch (const std::exception& e) {
            std::cerr << "error: cannot open access log " << config.logging.access_log << ": " << e.what() << "\n";
            return false;
        }
        shared.access_log = access_log.get();
        if (config.usage_hook.enabled) {
            webhook = std::make_unique<usage::WebhookSink>(config.usage_hook, workers);
            webhook->Start();  // replays a spool left by an earlier run first
            shared.webhook = webhook.get();
        }
        try {
            if (!config.database.url.empty() && config.database.usage_ledger) {
                ledger = store::OpenUsageLedger(config.database.url, workers);
                ledger->Start();
                shared.ledger = ledger.get();
            }
            const auto& rl = config.logging.request_log;
            if (rl.enabled) {
                request_log = rl.output == "database" ? store::OpenRequestLogTable(rl, config.database.url, workers)
                                                      : observe::OpenRequestLogFile(rl, workers);
                request_log->Start();
                shared.request_log = request_log.get();
            }
        } catch (const std::exception& e) {
            std::cerr << "error: " << e.what() << "\n";
            return false;
        }
        return true;
    }

    void Stop() {
        if (std::exchange(stopped, true)) return;
        if (ledger) ledger->Stop();
        if (request_log) request_log->Stop();
        if (webhook) webhook->Stop();
    }
    ~ProcessSinks() { Stop(); }  // also on an early exit at start
    bool stopped = false;
};

// What the file part of the config is, and what the command line and the environment pin.
std::optional<control::ConfigSource> SourceOf(const std::string& config_path, const std::string& listen, int workers,
                                              const std::string& log_level) {
    control::ConfigSource source;
    source.path = config_path;
    const std::string db_url = Env("DB_URL");
    if (config_path.empty()) source.text = db_url.empty() ? kEmbeddedConfig : EnvironmentConfig(db_url);
    if (!listen.empty() && listen.rfind(':') == std::string::npos) {
        std::cerr << "error: --listen must be host:port\n";
        return std::nullopt;
    }
    source.listen = listen;
    source.workers = workers;
    source.log_level = log_level;
    // The Python llm-proxy service's environment, where the file leaves these unset.
    source.admin_key = !Env("LLM_PROXY_ADMIN_KEY").empty() ? Env("LLM_PROXY_ADMIN_KEY") : Env("ADMIN_KEY");
    if (!Env("PROVIDER_SUFFIX").empty()) source.strip_prefix = Env("PROVIDER_SUFFIX") + "/";
    source.database_url = db_url;
    return source;
}

// Two connections: the sync thread's (keys, quotas) and the control thread's (admin API,
// reloads), so that neither waits on the other's queries. Migrates the schema up (and says so).
bool OpenStores(const std::string& url, std::unique_ptr<store::Store>& sync, std::unique_ptr<store::Store>& control) {
    try {
        sync = store::Store::Open(url);
        control = store::Store::Open(url);
    } catch (const std::exception& e) {
        std::cerr << "error: database: " << e.what() << "\n";
        return false;
    }
    if (sync->migrated_from() != sync->schema_version()) {
        spdlog::info("store: schema migrated from version {} to {} (llm-proxy migrate status)", sync->migrated_from(),
                     sync->schema_version());
    } else {
        spdlog::info("store: schema at version {}", sync->schema_version());
    }
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"llm-proxy: an OpenAI-compatible LLM gateway"};
    std::string config_path, check_path, listen_override, log_level;
    int workers_override = -1;
    app.add_option("-c,--config", config_path, "YAML config file (default: embedded demo config)");
    app.add_option("--check-config", check_path, "validate FILE, print problems and exit (0 = valid)");
    app.add_option("--listen", listen_override, "override server.listen (host:port)");
    app.add_option("--workers", workers_override, "override server.workers");
    app.add_option("--log-level", log_level, "override logging.level");
    app.set_version_flag("--version", std::string("llm-proxy ") + kVersion);
    app::KeysCommand keys_command(app);
    app::UsageCommand usage_command(app);
    app::MigrateCommand migrate_command(app);
    app::ConvertCommand convert_command(app);
    CLI11_PARSE(app, argc, argv);
    if (convert_command.parsed()) return convert_command.Run();
    if (migrate_command.parsed()) return migrate_command.Run(config_path);
    if (keys_command.parsed()) return keys_command.Run(config_path);
    if (usage_command.parsed()) return usage_command.Run(config_path);

    if (!check_path.empty()) {
        auto result = core::LoadConfigFile(check_path);
        if (result.config) {
            result.errors = script::CheckScripts(*result.config);
            if (!result.errors.empty()) result.config = nullptr;
        }
        PrintErrors(result);
        if (!result.errors.empty()) return 1;
        std::cout << check_path << ": OK (" << result.config->providers.size() << " providers";
        if (!result.dialect.empty()) std::cout << "; read as " << result.dialect;
        std::cout << ")\n";
        return 0;
    }

    auto logger = spdlog::stderr_color_mt("llm-proxy");
    spdlog::set_default_logger(logger);
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");

    auto source = SourceOf(config_path, listen_override, workers_override, log_level);
    if (!source) return 1;
    // The file alone first: it names the store (database.url) the rest of the config is in.
    observe::ReloadStats reload_stats;
    std::string database_url;
    {
        auto file_only = control::ConfigManager(*source, nullptr, reload_stats).LoadInitial();
        PrintErrors(file_only);
        if (!file_only.errors.empty()) return 1;
        database_url = file_only.config->database.url;
    }
    if (config_path.empty() && source->database_url.empty()) {
        spdlog::warn("no --config given: using the embedded demo config (provider 'demo' at http://127.0.0.1:9000/v1)");
    }
    std::unique_ptr<store::Store> store, control_store;
    if (!database_url.empty() && !OpenStores(database_url, store, control_store)) return 1;
    control::ConfigManager config_manager(*source, control_store.get(), reload_stats);
    auto result = config_manager.LoadInitial();
    PrintErrors(result);
    if (!result.errors.empty()) return 1;
    if (!result.dialect.empty()) {
        spdlog::info("config: {} read as {} (llm-proxy convert-config {} prints it in llm-proxy's format)", config_path,
                     result.dialect, config_path);
    }
    auto config = std::make_shared<core::Config>(*result.config);
    spdlog::set_level(spdlog::level::from_str(config->logging.level));

    std::signal(SIGPIPE, SIG_IGN);
    RaiseFileLimit();
    // Request bodies over 256 KiB get their own mapping, returned to the OS when freed. Without a
    // fixed threshold glibc raises it to the largest block freed so far (up to 32 MiB), and after
    // one burst of large uploads their memory would stay in the heap for good.
    mallopt(M_MMAP_THRESHOLD, 256 * 1024);
    int worker_count = config->server.workers > 0 ? config->server.workers
                                                  : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    std::unique_ptr<control::SnapshotPublisher> snapshots;
    try {
        snapshots = std::make_unique<control::SnapshotPublisher>(config);
        config_manager.Attach(*snapshots);
    } catch (const std::exception& e) {
        std::cerr << "error: " << e.what() << "\n";  // e.g. an unreadable ca_file
        return 1;
    }

    // Signals are hooked before any worker starts: a SIGTERM that arrives as soon as the port
    // opens must still mean "drain", not the default "die".
    asio::io_context main_ioc;
    asio::signal_set signals(main_ioc, SIGINT, SIGTERM);
    asio::signal_set reload_signal(main_ioc, SIGHUP);

    SharedState shared;
    shared.snapshots = snapshots.get();
    ProcessSinks sinks;
    if (!sinks.Open(*config, static_cast<std::size_t>(worker_count), shared)) return 1;
    usage::Tokenizers tokenizers(config->tokenizer.data_dir.empty() ? LP_TOKENIZER_DIR : config->tokenizer.data_dir,
                                 config->tokenizer.default_encoding);
    tokenizers.LoadInBackground();
    shared.tokenizers = &tokenizers;
    // Keys and quota totals are loaded before the port opens: a restarted gateway must not
    // serve a request on a quota it has forgotten.
    std::unique_ptr<store::QuotaBackend> quota_backend;
    proxy::KeyDirectory key_directory;
    shared.keys = &key_directory;
    try {
        // Quotas live beside the shared rate limits when those are in Redis, else in the store.
        if (config->rate_limit.storage == "redis") {
            quota_backend = std::make_unique<store::RedisQuotaBackend>(config->redis);
        } else if (store) {
            quota_backend = std::make_unique<store::StoreQuotaBackend>(*store);
        }
    } catch (const std::exception& e) {
        std::cerr << "error: database: " << e.what() << "\n";
        return 1;
    }
    control::StateSync state_sync(config, store.get(), quota_backend.get(), key_directory,
                                  store ? store::OpenChangeFeed(database_url) : nullptr);
    try {
        state_sync.Initialize();
    } catch (const std::exception& e) {
        std::cerr << "error: cannot load keys and quotas: " << e.what() << "\n";
        return 1;
    }
    // Another instance (or plain SQL) changed providers or routes: reload on the control thread.
    state_sync.Start([&] { asio::post(main_ioc, [&] { config_manager.ReloadIfStoreChanged(); }); });
    // The admin API's rows join the endpoint table; its calls run here, on the control thread.
    pipeline::EndpointTable endpoints;
    endpoints.Add(admin::AdminEndpoints());
    const std::string openapi = pipeline::BuildOpenApi(endpoints, kVersion);
    admin::AdminApi admin_api(main_ioc, {config_manager, state_sync, key_directory});
    shared.endpoints = &endpoints;
    shared.control = &admin_api;
    shared.reload_stats = &reload_stats;
    shared.openapi = &openapi;
    proxy::StoredKeyCounters stored_key_counters;  // limits of keys read from Redis, for every worker
    shared.stored_key_counters = &stored_key_counters;
    std::vector<std::unique_ptr<Worker>> workers;
    try {
        auto address = asio::ip::make_address(config->server.listen_host);
        uint16_t port = config->server.listen_port;
        for (int i = 0; i < worker_count; ++i) {
            workers.push_back(std::make_unique<Worker>(i, worker_count, shared));
            shared.metric_shards.push_back(&workers.back()->metrics());
        }
        for (auto& worker : workers) {  // only now: the shard list is complete and read-only
            worker->Start(tcp::endpoint(address, port));
            port = worker->bound_port();  // with port 0, the others join the first's port
        }
        spdlog::info("llm-proxy listening on {}:{} with {} workers, {} providers", config->server.listen_host, port,
                     worker_count, config->providers.size());
    } catch (const std::exception& e) {
        spdlog::critical("cannot listen on {}: {}", config->server.listen, e.what());
        return 1;
    }

    // Graceful shutdown: stop accepting, let in-flight requests and streams finish (up to
    // drain_timeout), then exit 0. A second signal exits at once.
    Timer poll(main_ioc);
    auto drain_deadline = std::chrono::steady_clock::time_point::max();
    std::function<void()> check_drained = [&] {
        if (shared.open_sessions.load() == 0 || std::chrono::steady_clock::now() >= drain_deadline) {
            if (shared.open_sessions.load() != 0) {
                spdlog::warn("drain timeout: closing {} sessions still open", shared.open_sessions.load());
            }
            main_ioc.stop();
            return;
        }
        poll.expires_after(std::chrono::milliseconds(20));
        poll.async_wait([&](const error_code& ec) {
            if (!ec) check_drained();
        });
    };
    std::function<void(const error_code&, int)> on_signal = [&](const error_code& ec, int sig) {
        if (ec) return;
        if (shared.draining.exchange(true)) {
            spdlog::warn("second signal: exiting now");
            main_ioc.stop();
            return;
        }
        spdlog::info("signal {}: draining (up to {} ms)", sig, config->server.drain_timeout.count());
        drain_deadline = std::chrono::steady_clock::now() + config->server.drain_timeout;
        for (auto& w : workers) w->BeginDrain();
        signals.async_wait(on_signal);
        check_drained();
    };
    signals.async_wait(on_signal);
    // Active health checks run here, on the control thread, never on a worker; they follow
    // each new snapshot, and so do the config's API keys.
    control::HealthChecker health_checker(main_ioc);
    health_checker.Use(snapshots->Load());
    snapshots->OnPublish([&](const std::shared_ptr<const Snapshot>& s) {
        health_checker.Use(s);
        state_sync.UseConfig(s->config);
    });
    // SIGHUP, or the file changing: reload file + store. A config that does not validate keeps
    // the running one.
    std::function<void(const error_code&, int)> on_reload = [&](const error_code& ec, int) {
        if (ec) return;
        reload_signal.async_wait(on_reload);
        config_manager.Reload("SIGHUP");
    };
    reload_signal.async_wait(on_reload);
    std::optional<control::FileWatch> file_watch;
    if (!config_path.empty()) file_watch.emplace(main_ioc, config_path, [&] { config_manager.Reload("file changed"); });
    main_ioc.run();

    // Admin calls already handed to the control thread run now (their workers still wait for
    // them); later ones are refused.
    admin_api.Close();
    file_watch.reset();
    main_ioc.restart();
    main_ioc.poll();

    for (auto& w : workers) w->Stop();
    for (auto& w : workers) w->Join();
    state_sync.Stop();  // after the workers: writes the last requests' quota usage
    sinks.Stop();       // after the workers: every event is queued; undelivered ones go to the spool
    tokenizers.Join();  // it logs when done: before the logger goes away
    spdlog::info("llm-proxy stopped");
    spdlog::shutdown();  // flush the diagnostic log (the access log flushed in its destructor)
    return 0;
}
