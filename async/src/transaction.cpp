// async_run_transaction: the attempt loop of dsql::run_transaction as a chain of asynchronous
// steps on a strand, waiting out backoffs on a timer. retry_loop decides, as for every runner.
#include "dsql/async/transaction.hpp"

#include "connection_impl.hpp"
#include "pool_impl.hpp"

namespace dsql {

transaction_done::~transaction_done() {
  if (fn_) {
    fn_(std::make_exception_ptr(
        error("the transaction body ended without calling its transaction_done")));
  }
}

void transaction_done::operator()(std::exception_ptr error) {
  auto fn = std::move(fn_);
  if (fn) fn(std::move(error));
}

namespace detail {
namespace {

class transaction_run : public std::enable_shared_from_this<transaction_run> {
 public:
  transaction_run(async_pool& pool, transaction_body body, const retry_options& options,
                  completion<std::exception_ptr> done)
      : pool_(pool.impl()),
        body_(std::move(body)),
        loop_(options),
        strand_(net::make_strand(pool_->executor())),
        timer_(strand_),
        done_(std::move(done)) {}

  void begin() {
    auto slot = done_.cancellation_slot();
    if (slot.is_connected()) {
      std::weak_ptr<transaction_run> weak = shared_from_this();
      slot.assign([weak](net::cancellation_type type) {
        if (auto self = weak.lock()) {
          net::post(self->strand_, [self, type] { self->cancel(type); });
        }
      });
    }
    net::post(strand_, [self = shared_from_this()] { self->attempt(); });
  }

 private:
  // A handler for an inner operation: on the strand, cancelled along with the transaction.
  template <class F>
  auto step(F f) {
    return net::bind_cancellation_slot(inner_.slot(), net::bind_executor(strand_, std::move(f)));
  }

  void attempt() {
    if (cancelled_) return finish(cancelled());
    pool_->acquire(
        pool_->options().acquire_timeout,
        acquire_done(step([self = shared_from_this()](std::exception_ptr e, async_lease l) {
                       self->acquired(e, std::move(l));
                     }),
                     pool_->executor()));
  }

  void acquired(std::exception_ptr e, async_lease l) {
    lease_ = std::move(l);
    if (e || cancelled_) return failed(e);
    lease_->async_exec("BEGIN", step([self = shared_from_this()](std::exception_ptr err, result) {
                         self->began(err);
                       }));
  }

  void began(std::exception_ptr e) {
    if (e) {
      // A connection found dead here ran nothing of the attempt: it is discarded and another
      // taken (a few times: every idle one may have died together), as on the blocking path.
      if (!cancelled_ && is_connection_error(e) && ++dead_begins_ <= pool_->options().max_size) {
        lease_.release_broken();
        return attempt();
      }
      return failed(e);
    }
    if (cancelled_) return failed(cancelled());
    dead_begins_ = 0;
    auto self = shared_from_this();
    transaction_done done([self](std::exception_ptr err) {
      net::post(self->strand_, [self, err] { self->body_done(err); });
    });
    try {
      body_(*lease_, std::move(done), inner_.slot());
    } catch (...) {
      // `done` has already been moved into the body, which reports through it when dropped;
      // a body that threw before that gets its exception reported here.
      body_threw_ = std::current_exception();
    }
  }

  void body_done(std::exception_ptr e) {
    if (body_threw_) e = std::exchange(body_threw_, nullptr);  // over "ended without calling"
    if (e) return failed(e);
    if (cancelled_) return failed(cancelled());
    lease_->async_exec("COMMIT", step([self = shared_from_this()](std::exception_ptr err, result) {
                         if (err) return self->failed(err);
                         self->lease_.release();
                         self->finish(nullptr);
                       }));
  }

  void failed(std::exception_ptr e) {
    // An open transaction is rolled back by the pool; a broken connection is discarded.
    lease_.release();
    if (cancelled_) return finish(cancelled());
    std::chrono::milliseconds delay{};
    try {
      try {
        std::rethrow_exception(e);
      } catch (...) {
        delay = loop_.next_delay();  // rethrows what is not worth another attempt
      }
    } catch (...) {
      return finish(std::current_exception());
    }
    timer_.expires_after(delay);
    timer_.async_wait(step([self = shared_from_this()](const auto& ec) {
      if (ec || self->cancelled_) return self->finish(cancelled());
      self->attempt();
    }));
  }

  void cancel(net::cancellation_type type) {
    if (finished_) return;
    cancelled_ = true;
    inner_.emit(type);
  }

  static std::exception_ptr cancelled() {
    return std::make_exception_ptr(cancelled_error("the transaction was cancelled"));
  }

  void finish(std::exception_ptr e) {
    if (finished_) return;
    finished_ = true;
    timer_.cancel();
    done_(std::move(e));
  }

  std::shared_ptr<async_pool_impl> pool_;
  transaction_body body_;
  retry_loop loop_;
  net::strand<net::any_io_executor> strand_;
  net::steady_timer timer_;
  net::cancellation_signal inner_;
  completion<std::exception_ptr> done_;
  async_lease lease_;
  std::exception_ptr body_threw_;
  std::size_t dead_begins_ = 0;
  bool cancelled_ = false;
  bool finished_ = false;
};

}  // namespace

void start_transaction(async_pool& pool, transaction_body body, const retry_options& options,
                       completion<std::exception_ptr> done) {
  try {
    validate(options);
  } catch (...) {
    done.post(std::current_exception());
    return;
  }
  std::make_shared<transaction_run>(pool, std::move(body), options, std::move(done))->begin();
}

}  // namespace detail
}  // namespace dsql
