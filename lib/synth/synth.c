/*
 * synth.c — espeak-ng synthesis with word timing (see synth.h for the timing
 * definitions and why every utterance is synthesized in a child process).
 *
 * Processes: synth_init() initializes espeak in the calling process and forks
 * the fork server while the process is still single-threaded.  The server
 * loops on a SOCK_SEQPACKET control socket; each request carries the voice,
 * the parameters, the text and (SCM_RIGHTS) the write end of a pipe made by
 * the requesting thread.  The server forks one child per request from its
 * own single-threaded state (never touched by a synthesis, so every child
 * starts from espeak's pristine state), the child writes its message to the
 * pipe and exits, and the server reaps it and appends a trailer with the
 * exit status before closing its copy of the pipe.  The requesting thread
 * reads its pipe to EOF.  So no thread of the caller ever forks: fork() in a
 * multi-threaded process is only safe up to exec (a child can inherit a lock
 * another thread held, e.g. the allocator's, and deadlock).
 */
#define _GNU_SOURCE
#include "synth/synth.h"
#include "base/err.h"
#include <dirent.h>
#include <errno.h>
#include <espeak-ng/speak_lib.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unicode/uchar.h>
#include <unicode/utf8.h>
#include <unistd.h>
#include "base/banned.h"

#define FRAME 110                 /* 5 ms at 22050 Hz */
#define VOICED_DBFS (-50.0)
#define PIPE_MAGIC 0x53594e54u    /* "SYNT": child's message */
#define REQ_MAGIC 0x53594e52u     /* "SYNR": request to the server */
#define TRAILER_MAGIC 0x53594e45u /* "SYNE": server's trailer after the child exited */
#define MAX_SAMPLES ((int64_t)SYNTH_RATE * 600)   /* 10 minutes per utterance */
#define MAX_EVENTS 100000
#define MAX_NAME 256
/* One request is one SEQPACKET message, which must fit the socket's send
 * buffer (about 200 KiB by default); 64 KiB of text is far more than the
 * 10 minutes of speech an utterance may last. */
#define MAX_TEXT 65536
#define MAX_PENDING 1024          /* requests the server runs at once */

/* Child -> requester message: header, int16 samples, events. */
typedef struct msg_hdr {
	uint32_t magic;
	int32_t  status;      /* 0 ok, 1 espeak failed, 2 voice not found, 3 out of memory */
	int64_t  n_samples;
	int64_t  n_events;
} msg_hdr;

typedef struct msg_event {
	int32_t type, text_position, length, sample, audio_position;
} msg_event;

/* Requester -> server: this header, the voice name, the text (no NULs). */
typedef struct req_hdr {
	uint32_t magic;
	int32_t  rate, pitch, range, wordgap;
	uint32_t name_len, text_len;
} req_hdr;

/* Server -> requester, after the child's message: how the child ended. */
typedef struct trailer {
	uint32_t magic;
	int32_t  fork_errno;  /* != 0: no child was started (errno of fork, or EINVAL for a bad request) */
	int32_t  wait_status; /* waitpid() status of the child */
} trailer;

static pthread_mutex_t synth_lock = PTHREAD_MUTEX_INITIALIZER;
static int synth_ready;          /* 1 after a successful espeak_Initialize */
static pid_t server_pid;         /* > 0 while a server was started and not shut down */
static int server_fd = -1;       /* our end of the control socket */
static int shutdown_registered;

/* Close every descriptor >= 3 except keep (< 0: none). */
static void close_fds_except(int keep)
{
	if (keep < 3) {
		if (close_range(3, ~0U, 0) == 0)
			return;
	} else if ((keep == 3 || close_range(3, (unsigned)keep - 1, 0) == 0) &&
		   close_range((unsigned)keep + 1, ~0U, 0) == 0) {
		return;
	}
	/* kernels without close_range (< 5.9) */
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return;
	struct dirent *e;
	int self = dirfd(d);
	while ((e = readdir(d))) {
		int fd = atoi(e->d_name);
		if (e->d_name[0] >= '0' && e->d_name[0] <= '9' && fd >= 3 && fd != keep && fd != self)
			close(fd);
	}
	closedir(d);
}

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* ---- synthesis child: only ever runs in a process forked by the server ---- */

static struct {
	int16_t *s;
	int64_t n;
	size_t cap;
	msg_event *ev;
	int64_t nev;
	size_t capev;
	int oom;
} child;

static int child_cb(short *wav, int numsamples, espeak_EVENT *events)
{
	if (wav && numsamples > 0 && !child.oom) {
		if (ARRAY_GROW(child.s, child.cap, (size_t)(child.n + numsamples))) {
			child.oom = 1;
			return 1;
		}
		memcpy(child.s + child.n, wav, (size_t)numsamples * sizeof *wav);
		child.n += numsamples;
	}
	for (; events && events->type != espeakEVENT_LIST_TERMINATED && !child.oom; events++) {
		if (events->type != espeakEVENT_WORD && events->type != espeakEVENT_END &&
		    events->type != espeakEVENT_MSG_TERMINATED)
			continue;
		if (ARRAY_GROW(child.ev, child.capev, (size_t)child.nev + 1)) {
			child.oom = 1;
			return 1;
		}
		child.ev[child.nev++] = (msg_event){ events->type, events->text_position, events->length,
						     events->sample, events->audio_position };
	}
	return 0;
}

static void child_run(int fd, const char *name, const req_hdr *rq, const char *text)
{
	msg_hdr h = { PIPE_MAGIC, 0, 0, 0 };
	if (espeak_SetVoiceByName(name) != EE_OK) {
		h.status = 2;
		goto send;
	}
	espeak_SetParameter(espeakRATE, rq->rate > 0 ? rq->rate : espeakRATE_NORMAL, 0);
	if (rq->pitch >= 0)
		espeak_SetParameter(espeakPITCH, rq->pitch, 0);
	if (rq->range >= 0)
		espeak_SetParameter(espeakRANGE, rq->range, 0);
	espeak_SetParameter(espeakWORDGAP, rq->wordgap > 0 ? rq->wordgap : 0, 0);
	espeak_SetSynthCallback(child_cb);
	if (espeak_Synth(text, strlen(text) + 1, 0, POS_CHARACTER, 0, espeakCHARS_UTF8, NULL, NULL) != EE_OK ||
	    espeak_Synchronize() != EE_OK)
		h.status = 1;
	if (child.oom)
		h.status = 3;
	if (!h.status) {
		h.n_samples = child.n;
		h.n_events = child.nev;
	}
send:
	if (write_all(fd, &h, sizeof h) == 0 && !h.status) {
		if (h.n_samples)
			write_all(fd, child.s, (size_t)h.n_samples * sizeof *child.s);
		if (h.n_events)
			write_all(fd, child.ev, (size_t)h.n_events * sizeof *child.ev);
	}
	close(fd);
}

/* ---- fork server: a single-threaded process forked by synth_init() ---- */

static void server_on_sigchld(int sig)
{
	(void)sig;   /* only here so that SIGCHLD interrupts ppoll() */
}

static void server_reply(int fd, int fork_errno, int wait_status)
{
	trailer t = { TRAILER_MAGIC, fork_errno, wait_status };
	write_all(fd, &t, sizeof t);   /* a requester that went away is no concern of ours */
	close(fd);
}

/* Receive one request; start its child or answer with an error trailer.
 * Returns 0 to go on, 1 at EOF (the library's process closed its end). */
static int server_accept(int ctl, const sigset_t *child_mask, pid_t *pid, int *pfd, int *npend)
{
	static char buf[sizeof(req_hdr) + MAX_NAME + MAX_TEXT + 1];
	char cbuf[CMSG_SPACE(sizeof(int))] __attribute__((aligned(8)));
	struct iovec iov = { buf, sizeof buf - 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf };
	req_hdr rq;
	char name[MAX_NAME + 1];
	int fd = -1;
	ssize_t n = recvmsg(ctl, &m, MSG_CMSG_CLOEXEC);
	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : 1;
	if (n == 0)
		return 1;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len == CMSG_LEN(sizeof(int)))
			memcpy(&fd, CMSG_DATA(c), sizeof fd);
	if (fd < 0)
		return 0;   /* nobody to answer */
	memcpy(&rq, buf, (size_t)n < sizeof rq ? (size_t)n : sizeof rq);
	if ((size_t)n < sizeof rq || (m.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || rq.magic != REQ_MAGIC ||
	    rq.name_len == 0 || rq.name_len > MAX_NAME || rq.text_len > MAX_TEXT ||
	    (size_t)n != sizeof rq + rq.name_len + rq.text_len) {
		server_reply(fd, EINVAL, 0);
		return 0;
	}
	memcpy(name, buf + sizeof rq, rq.name_len);
	name[rq.name_len] = 0;
	char *text = buf + sizeof rq + rq.name_len;
	text[rq.text_len] = 0;
	pid_t p = fork();
	if (p == 0) {
		close_fds_except(fd);
		signal(SIGPIPE, SIG_DFL);
		signal(SIGCHLD, SIG_DFL);
		sigprocmask(SIG_SETMASK, child_mask, NULL);
		child_run(fd, name, &rq, text);
		_exit(0);
	}
	if (p < 0) {
		server_reply(fd, errno ? errno : EAGAIN, 0);
		return 0;
	}
	pid[*npend] = p;
	pfd[*npend] = fd;
	(*npend)++;
	return 0;
}

static void server_reap(pid_t *pid, int *pfd, int *npend)
{
	int st;
	pid_t p;
	while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
		for (int i = 0; i < *npend; i++) {
			if (pid[i] != p)
				continue;
			server_reply(pfd[i], 0, st);
			pid[i] = pid[*npend - 1];
			pfd[i] = pfd[*npend - 1];
			(*npend)--;
			break;
		}
	}
}

static __attribute__((noreturn)) void server_main(int ctl)
{
	static pid_t pid[MAX_PENDING];
	static int pfd[MAX_PENDING];
	int npend = 0, open = 1;
	sigset_t chld, orig, wait_mask;
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = server_on_sigchld;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGCHLD, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* The user's Ctrl-C reaches the whole process group; the library's
	 * process decides, and our EOF follows when it exits. */
	signal(SIGINT, SIG_IGN);
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, &orig);
	wait_mask = orig;
	sigdelset(&wait_mask, SIGCHLD);
	while (open || npend) {
		server_reap(pid, pfd, &npend);
		/* SIGCHLD stays blocked except inside ppoll(), so an exit between
		 * the reap and the wait interrupts the wait instead of being lost. */
		struct pollfd pf = { ctl, POLLIN, 0 };
		int watch = open && npend < MAX_PENDING;
		int r = ppoll(&pf, watch ? 1 : 0, NULL, &wait_mask);
		if (r < 0 && errno != EINTR)
			break;
		if (r > 0 && watch && (pf.revents & (POLLIN | POLLHUP | POLLERR)))
			if (server_accept(ctl, &orig, pid, pfd, &npend))
				open = 0;
	}
	for (int i = 0; i < npend; i++) {   /* only after a ppoll failure */
		int st = 0;
		while (waitpid(pid[i], &st, 0) < 0 && errno == EINTR)
			;
		server_reply(pfd[i], 0, st);
	}
	_exit(0);
}

/* Fork the server (synth_lock held). */
static int server_start(void)
{
	int sv[2];
	pid_t p;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
		return err_set(ACC_EINTERNAL, "cannot create the espeak server's socket: %s", strerror(errno));
	p = fork();
	if (p < 0) {
		int e = errno;
		close(sv[0]);
		close(sv[1]);
		return err_set(ACC_EINTERNAL, "cannot fork the espeak server: %s", strerror(e));
	}
	if (p == 0) {
		/* Hold nothing of the caller's open: files, sockets, pipes whose
		 * readers wait for EOF.  stderr stays for espeak's diagnostics. */
		int ctl = sv[1], null;
		close(sv[0]);   /* first: it may sit on a standard descriptor */
		if (ctl < 3) {   /* the caller had closed a standard descriptor */
			int c = fcntl(ctl, F_DUPFD_CLOEXEC, 3);
			if (c < 0)
				_exit(1);
			close(ctl);
			ctl = c;
		}
		/* 0..2 always open, so no request pipe ever lands on stderr */
		if ((null = open("/dev/null", O_RDWR)) >= 0) {
			dup2(null, 0);
			dup2(null, 1);
			if (fcntl(2, F_GETFD) < 0)
				dup2(null, 2);
		}
		close_fds_except(ctl);
		server_main(ctl);
	}
	close(sv[1]);
	server_fd = sv[0];
	server_pid = p;
	if (!shutdown_registered && atexit(synth_shutdown) == 0)
		shutdown_registered = 1;
	return 0;
}

/* ---- library side ---- */

int synth_init(const char *data_path)
{
	int rc = 0;
	pthread_mutex_lock(&synth_lock);
	if (!synth_ready) {
		int sr = espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, data_path, espeakINITIALIZE_DONT_EXIT);
		if (sr != SYNTH_RATE) {
			rc = err_set(ACC_EINTERNAL, "espeak-ng failed to initialize (returned %d, expected %d Hz)%s%s",
				     sr, SYNTH_RATE, data_path ? " with data at " : "", data_path ? data_path : "");
			err_hint("install espeak-ng-data (make deps) or set ESPEAK_DATA_PATH");
		} else {
			synth_ready = 1;
		}
	}
	if (!rc && server_pid <= 0)
		rc = server_start();
	pthread_mutex_unlock(&synth_lock);
	return rc;
}

void synth_shutdown(void)
{
	pthread_mutex_lock(&synth_lock);
	if (server_pid > 0) {
		int st;
		close(server_fd);   /* the server sees EOF, finishes its children, exits */
		while (waitpid(server_pid, &st, 0) < 0 && errno == EINTR)
			;
		server_fd = -1;
		server_pid = 0;
	}
	pthread_mutex_unlock(&synth_lock);
}

/* Have the server synthesize text with v; read the child's whole message
 * into *buf (trailer removed, exit status checked). */
static int server_call(const synth_voice *v, const char *text, char **buf, size_t *len)
{
	int pfd[2] = { -1, -1 }, rc = 0, ctl;
	size_t cap = 0, tlen = strlen(text);
	char *b = NULL, name[MAX_NAME + 1];
	trailer t;
	*buf = NULL;
	*len = 0;
	if (v->variant && *v->variant)
		snprintf(name, sizeof name, "%s+%s", v->voice, v->variant);
	else
		snprintf(name, sizeof name, "%s", v->voice);
	if (strlen(name) >= MAX_NAME)
		return err_set(ACC_EINVAL, "espeak voice name too long: \"%.60s\"", name);
	if (tlen > MAX_TEXT)
		return err_set(ACC_EINVAL, "text too long for one utterance (%zu bytes, at most %d)", tlen, MAX_TEXT);
	pthread_mutex_lock(&synth_lock);
	ctl = server_fd;
	pthread_mutex_unlock(&synth_lock);
	if (ctl < 0)
		return err_set(ACC_EINTERNAL, "the espeak server is not running (synth_init not called)");
	if (pipe2(pfd, O_CLOEXEC) != 0)
		return err_set(ACC_EINTERNAL, "cannot create a pipe for espeak: %s", strerror(errno));
	{
		req_hdr rq = { REQ_MAGIC, v->rate, v->pitch, v->range, v->wordgap, (uint32_t)strlen(name), (uint32_t)tlen };
		struct iovec iov[3] = { { &rq, sizeof rq }, { name, rq.name_len }, { (void *)text, tlen } };
		char cbuf[CMSG_SPACE(sizeof(int))] __attribute__((aligned(8)));
		struct msghdr m = { .msg_iov = iov, .msg_iovlen = 3, .msg_control = cbuf, .msg_controllen = sizeof cbuf };
		memset(cbuf, 0, sizeof cbuf);
		struct cmsghdr *c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &pfd[1], sizeof(int));
		ssize_t s;
		while ((s = sendmsg(ctl, &m, MSG_NOSIGNAL)) < 0 && errno == EINTR)
			;
		if (s < 0) {
			rc = err_set(ACC_EINTERNAL, "cannot reach the espeak server process (%s): it has exited",
				     strerror(errno));
			goto out;
		}
	}
	close(pfd[1]);   /* now only the server and its child hold the write end */
	pfd[1] = -1;
	for (;;) {
		if (*len == cap) {
			/* a 64 KiB start, doubling; no utterance's message nears 2 GiB */
			if (cap >= (size_t)1 << 31) {
				rc = err_set(ACC_ENOMEM, "out of memory reading espeak output");
				goto out;
			}
			if ((rc = ARRAY_GROW(b, cap, cap ? cap * 2 : (size_t)1 << 16)))
				goto out;
		}
		ssize_t r = read(pfd[0], b + *len, cap - *len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = err_set(ACC_EINTERNAL, "cannot read espeak output: %s", strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		*len += (size_t)r;
	}
	if (*len < sizeof t || (memcpy(&t, b + *len - sizeof t, sizeof t), t.magic != TRAILER_MAGIC)) {
		rc = err_set(ACC_EINTERNAL, "the espeak server died while synthesizing \"%.60s\"", text);
		goto out;
	}
	*len -= sizeof t;
	if (t.fork_errno) {
		rc = err_set(ACC_EINTERNAL, "the espeak server cannot start a child: %s", strerror(t.fork_errno));
		goto out;
	}
	if (!WIFEXITED(t.wait_status) || WEXITSTATUS(t.wait_status) != 0) {
		if (WIFSIGNALED(t.wait_status))
			rc = err_set(ACC_EINTERNAL, "espeak child process killed by signal %d (%s) on \"%.60s\"",
				     WTERMSIG(t.wait_status), strsignal(WTERMSIG(t.wait_status)), text);
		else
			rc = err_set(ACC_EINTERNAL, "espeak child process died (status 0x%x) on \"%.60s\"",
				     t.wait_status, text);
		goto out;
	}
out:
	if (pfd[0] >= 0)
		close(pfd[0]);
	if (pfd[1] >= 0)
		close(pfd[1]);
	if (rc) {
		free(b);
		*len = 0;
		return rc;
	}
	*buf = b;
	return 0;
}

int synth_voice_exists(const char *voice)
{
	synth_voice v = { voice, NULL, 0, -1, -1, 0 };
	char *buf;
	size_t len;
	msg_hdr h;
	int ok;
	if (!voice || !*voice || synth_init(NULL))
		return 0;
	/* An empty text is not spoken but the voice is still looked up. */
	if (server_call(&v, "", &buf, &len))
		return 0;
	ok = len >= sizeof h && (memcpy(&h, buf, sizeof h), h.magic == PIPE_MAGIC && h.status != 2);
	free(buf);
	return ok;
}

/* ---- tokens ---- */

typedef struct token {
	int32_t cstart, cend;      /* code point indices [cstart, cend) in the text */
	int32_t bstart, bend;      /* stripped word's byte range */
	int     is_word;
	int64_t sample;            /* first word event's sample, -1 = none */
} token;

static int is_word_char(UChar32 c)
{
	if (c < 0)
		return 0;
	int8_t t = u_charType(c);
	return u_isalnum(c) || t == U_NON_SPACING_MARK || t == U_COMBINING_SPACING_MARK || t == U_ENCLOSING_MARK;
}

/* Tokenize on Unicode white space.  *out malloc'ed.  Returns count or <0. */
static int tokenize(const char *text, token **out)
{
	int32_t len = (int32_t)strlen(text), i = 0, ci = 0;
	int n = 0;
	size_t cap = 0;
	token *t = NULL;
	*out = NULL;
	while (i < len) {
		UChar32 c;
		int32_t at = i;
		U8_NEXT(text, i, len, c);
		if (c >= 0 && u_isUWhiteSpace(c)) {
			ci++;
			continue;
		}
		/* a token starts at byte `at`, character ci */
		token tk = { ci, 0, -1, -1, 0, -1 };
		int32_t j = at, cj = ci;
		while (j < len) {
			int32_t b = j;
			U8_NEXT(text, j, len, c);
			if (c >= 0 && u_isUWhiteSpace(c)) {
				j = b;
				break;
			}
			if (is_word_char(c)) {
				if (tk.bstart < 0)
					tk.bstart = b;
				tk.bend = j;
				tk.is_word = 1;
			}
			cj++;
		}
		tk.cend = cj;
		if (ARRAY_GROW(t, cap, (size_t)n + 1)) {
			free(t);
			return ACC_ENOMEM;
		}
		t[n++] = tk;
		i = j;
		ci = cj;
	}
	*out = t;
	return n;
}

int synth_words(const char *text, char ***words)
{
	token *t;
	int n = tokenize(text, &t), nw = 0;
	char **w;
	*words = NULL;
	if (n < 0)
		return n;
	w = calloc((size_t)n + 1, sizeof *w);
	if (!w) {
		free(t);
		return err_set(ACC_ENOMEM, "out of memory");
	}
	for (int i = 0; i < n; i++) {
		if (!t[i].is_word)
			continue;
		w[nw] = strndup(text + t[i].bstart, (size_t)(t[i].bend - t[i].bstart));
		if (!w[nw]) {
			for (int k = 0; k < nw; k++)
				free(w[k]);
			free(w);
			free(t);
			return err_set(ACC_ENOMEM, "out of memory");
		}
		nw++;
	}
	free(t);
	*words = w;
	return nw;
}

/* ---- timing ---- */

typedef struct voicing {
	const float *x;
	int64_t n;
	float thr_amp;     /* sample amplitude threshold */
	double thr_ms;     /* frame mean-square threshold */
} voicing;

static int frame_voiced(const voicing *vc, int64_t f)
{
	int64_t a = f * FRAME, b = a + FRAME;
	double e = 0;
	if (b > vc->n)
		b = vc->n;
	if (a >= b)
		return 0;
	for (int64_t i = a; i < b; i++)
		e += (double)vc->x[i] * vc->x[i];
	return e / (double)(b - a) >= vc->thr_ms;
}

/* End (exclusive) of the last voiced sample in [lo, hi); lo when none. */
static int64_t last_voiced(const voicing *vc, int64_t lo, int64_t hi)
{
	if (hi > vc->n)
		hi = vc->n;
	for (int64_t f = (hi - 1) / FRAME; hi > lo && f >= lo / FRAME && f >= 0; f--) {
		if (!frame_voiced(vc, f))
			continue;
		int64_t a = f * FRAME > lo ? f * FRAME : lo, b = (f + 1) * FRAME < hi ? (f + 1) * FRAME : hi;
		for (int64_t i = b - 1; i >= a; i--)
			if (fabsf(vc->x[i]) >= vc->thr_amp)
				return i + 1;
	}
	return lo;
}

/* First voiced sample in [lo, hi); hi when none. */
static int64_t first_voiced(const voicing *vc, int64_t lo, int64_t hi)
{
	if (hi > vc->n)
		hi = vc->n;
	for (int64_t f = lo / FRAME; f * FRAME < hi; f++) {
		if (!frame_voiced(vc, f))
			continue;
		int64_t a = f * FRAME > lo ? f * FRAME : lo, b = (f + 1) * FRAME < hi ? (f + 1) * FRAME : hi;
		for (int64_t i = a; i < b; i++)
			if (fabsf(vc->x[i]) >= vc->thr_amp)
				return i;
	}
	return hi;
}

void synth_audio_free(synth_audio *a)
{
	if (!a)
		return;
	for (int i = 0; i < a->n_words; i++)
		free(a->words[i].text);
	free(a->words);
	free(a->samples);
	memset(a, 0, sizeof *a);
}

/* 0 when text is valid UTF-8, else ACC_EINVAL with the message. */
static int check_utf8(const char *text)
{
	int32_t l = (int32_t)strlen(text), i = 0;
	UChar32 c;
	while (i < l) {
		U8_NEXT(text, i, l, c);
		if (c < 0)
			return err_set(ACC_EINVAL, "text is not valid UTF-8: \"%.60s\"", text);
	}
	return 0;
}

/* The child's message (len bytes at buf) checked: its header in *h, or
 * the error the child reported (unknown voice, failure) or a malformed
 * message's. */
static int message_check(const char *buf, size_t len, const synth_voice *v, const char *text, msg_hdr *h)
{
	if (len < sizeof *h)
		return err_set(ACC_EINTERNAL, "espeak child sent a short message (%zu bytes)", len);
	memcpy(h, buf, sizeof *h);
	if (h->magic != PIPE_MAGIC)
		return err_set(ACC_EINTERNAL, "espeak child sent a malformed message");
	if (h->status == 2) {
		int rc = err_set(ACC_ENOTFOUND, "espeak-ng has no voice '%s%s%s'", v->voice,
				 v->variant && *v->variant ? "+" : "", v->variant && *v->variant ? v->variant : "");
		err_hint("list voices with: espeak-ng --voices; variants with: espeak-ng --voices=variant");
		return rc;
	}
	if (h->status)
		return err_set(h->status == 3 ? ACC_ENOMEM : ACC_EINTERNAL, "espeak-ng failed to synthesize \"%.60s\"", text);
	if (h->n_samples < 0 || h->n_samples > MAX_SAMPLES || h->n_events < 0 || h->n_events > MAX_EVENTS ||
	    len != sizeof *h + (size_t)h->n_samples * sizeof(int16_t) + (size_t)h->n_events * sizeof(msg_event))
		return err_set(ACC_EINTERNAL, "espeak child message has inconsistent sizes");
	if (h->n_samples == 0)
		return err_set(ACC_EINTERNAL, "espeak-ng produced no audio for \"%.60s\"", text);
	return 0;
}

/* Word events -> tokens by character position (tok[].sample), keeping
 * text order: espeak reports several events for one token (numbers,
 * abbreviations) and sometimes points back into an earlier token; those
 * are ignored.  p: the message's events. */
static void events_to_tokens(const char *p, const msg_hdr *h, token *tok, int ntok)
{
	int last_tok = -1;
	for (int64_t e = 0; e < h->n_events; e++) {
		msg_event ev;
		memcpy(&ev, p + e * (int64_t)sizeof ev, sizeof ev);
		if (ev.type != espeakEVENT_WORD || ev.text_position < 1 || ev.sample < 0 || ev.sample > h->n_samples)
			continue;
		int32_t c0 = ev.text_position - 1;
		int t = 0;
		while (t < ntok && tok[t].cend <= c0)
			t++;
		while (t < ntok && !tok[t].is_word)
			t++;
		if (t >= ntok || t <= last_tok)
			continue;
		tok[t].sample = ev.sample;
		last_tok = t;
	}
}

/* The words' sample spans (raw samples) in wstart/wend, nw words whose
 * tokens wtok lists.  A timed word starts at its event and ends at its
 * last voiced sample before the next timed start (the first one not
 * before the speech, sp_start); *ntimed counts them. */
static void time_words(const voicing *vc, const token *tok, int ntok, int nw, int64_t sp_start, int64_t sp_end,
		       int *wtok, int64_t *wstart, int64_t *wend, int *ntimed)
{
	int k = 0, first = 1;
	*ntimed = 0;
	for (int t = 0; t < ntok; t++) {
		if (!tok[t].is_word)
			continue;
		wtok[k] = t;
		wstart[k] = tok[t].sample;
		*ntimed += tok[t].sample >= 0;
		k++;
	}
	if (!*ntimed)
		return;
	for (int i = 0; i < nw; i++) {
		if (wstart[i] < 0)
			continue;
		int j = i + 1;
		while (j < nw && wstart[j] < 0)
			j++;
		int64_t next = j < nw ? wstart[j] : sp_end;
		if (first && wstart[i] < sp_start)
			wstart[i] = sp_start < next ? sp_start : wstart[i];
		first = 0;
		wend[i] = last_voiced(vc, wstart[i], next);
		if (wend[i] <= wstart[i])
			wend[i] = next > wstart[i] ? next : wstart[i];
	}
}

/* Untimed words share the span of the timed word before them (or after
 * them, at the start), split in proportion to their length.  At least one
 * word is timed. */
static void share_untimed(const token *tok, int nw, const int *wtok, int64_t *wstart, int64_t *wend)
{
	for (int i = 0; i < nw;) {
		if (wstart[i] >= 0) {
			i++;
			continue;
		}
		int a = i, b = i;
		while (b < nw && wstart[b] < 0)
			b++;
		int owner = a > 0 ? a - 1 : b;   /* b < nw when a == 0 since a word is timed */
		int lo = owner < a ? owner : a, hi = owner < a ? b : b + 1;   /* words [lo, hi) share */
		int64_t s0 = wstart[owner], s1 = wend[owner];
		int total = 0, acc = 0;
		for (int q = lo; q < hi; q++)
			total += tok[wtok[q]].bend - tok[wtok[q]].bstart;
		for (int q = lo; q < hi; q++) {
			int l = tok[wtok[q]].bend - tok[wtok[q]].bstart;
			wstart[q] = s0 + (s1 - s0) * acc / total;
			acc += l;
			wend[q] = s0 + (s1 - s0) * acc / total;
		}
		i = b;
	}
}

/* out's samples: raw's voiced part [sp_start, sp_end) with lead_s and
 * trail_s of silence; its words: the word spans moved with it and kept
 * inside the speech. */
static int trim_and_pad(const char *text, const float *raw, int64_t sp_start, int64_t sp_end, double lead_s,
			double trail_s, const token *tok, int nw, const int *wtok, const int64_t *wstart,
			const int64_t *wend, synth_audio *out)
{
	int64_t lead = (int64_t)llround(lead_s * SYNTH_RATE), trail = (int64_t)llround(trail_s * SYNTH_RATE);
	int64_t n = lead + (sp_end - sp_start) + trail, shift = lead - sp_start;
	out->samples = calloc((size_t)n, sizeof *out->samples);
	out->words = calloc((size_t)nw, sizeof *out->words);
	if (!out->samples || !out->words)
		return err_set(ACC_ENOMEM, "out of memory");
	memcpy(out->samples + lead, raw + sp_start, (size_t)(sp_end - sp_start) * sizeof *raw);
	out->n = n;
	out->sample_rate = SYNTH_RATE;
	out->speech_start_s = (double)lead / SYNTH_RATE;
	out->speech_end_s = (double)(lead + sp_end - sp_start) / SYNTH_RATE;
	for (int i = 0; i < nw; i++) {
		const token *t = &tok[wtok[i]];
		int64_t s = wstart[i] + shift, e = wend[i] + shift;
		/* samples before sp_start / after sp_end are silence and were cut */
		if (s < lead)
			s = lead;
		if (e > lead + sp_end - sp_start)
			e = lead + sp_end - sp_start;
		if (e < s)
			e = s;
		out->words[i].text = strndup(text + t->bstart, (size_t)(t->bend - t->bstart));
		if (!out->words[i].text) {
			out->n_words = i;
			return err_set(ACC_ENOMEM, "out of memory");
		}
		out->words[i].start_s = (double)s / SYNTH_RATE;
		out->words[i].end_s = (double)e / SYNTH_RATE;
		out->words[i].timed = t->sample >= 0;
	}
	out->n_words = nw;
	return 0;
}

int synth_speak(const synth_voice *v, const char *text, double lead_s, double trail_s, synth_audio *out)
{
	int rc = 0, ntok = 0, nw = 0, ntimed;
	char *buf = NULL;
	size_t len = 0;
	msg_hdr h;
	token *tok = NULL;
	float *raw = NULL;
	int64_t *wstart = NULL, *wend = NULL;
	int *wtok = NULL;
	memset(out, 0, sizeof *out);
	if (!v || !v->voice || !*v->voice || !text)
		return err_set(ACC_EINVAL, "synth_speak: no voice or text");
	if (lead_s < 0 || trail_s < 0 || lead_s > 60 || trail_s > 60)
		return err_set(ACC_EINVAL, "synth_speak: silence padding out of range (%g, %g s)", lead_s, trail_s);
	if ((rc = check_utf8(text)))
		return rc;
	if ((ntok = tokenize(text, &tok)) < 0)
		return ntok;
	for (int i = 0; i < ntok; i++)
		nw += tok[i].is_word;
	if (!nw) {
		rc = err_set(ACC_EINVAL, "text has no word to speak: \"%.60s\"", text);
		goto out;
	}
	if ((rc = synth_init(NULL)) || (rc = server_call(v, text, &buf, &len)) ||
	    (rc = message_check(buf, len, v, text, &h)))
		goto out;

	/* Samples to float. */
	raw = malloc((size_t)h.n_samples * sizeof *raw);
	wstart = malloc((size_t)nw * sizeof *wstart);
	wend = malloc((size_t)nw * sizeof *wend);
	wtok = malloc((size_t)nw * sizeof *wtok);
	if (!raw || !wstart || !wend || !wtok) {
		rc = err_set(ACC_ENOMEM, "out of memory");
		goto out;
	}
	for (int64_t i = 0; i < h.n_samples; i++) {
		int16_t s;
		memcpy(&s, buf + sizeof h + i * 2, 2);
		raw[i] = (float)s / 32768.0f;
	}
	events_to_tokens(buf + sizeof h + (size_t)h.n_samples * sizeof(int16_t), &h, tok, ntok);

	voicing vc = { raw, h.n_samples, (float)pow(10.0, VOICED_DBFS / 20.0), pow(10.0, VOICED_DBFS / 10.0) };
	int64_t sp_start = first_voiced(&vc, 0, h.n_samples), sp_end = last_voiced(&vc, 0, h.n_samples);
	if (sp_end <= sp_start) {
		rc = err_set(ACC_EINTERNAL, "espeak-ng produced only silence for \"%.60s\"", text);
		goto out;
	}
	time_words(&vc, tok, ntok, nw, sp_start, sp_end, wtok, wstart, wend, &ntimed);
	if (!ntimed) {
		rc = err_set(ACC_EINTERNAL, "espeak-ng reported no word events for \"%.60s\"", text);
		goto out;
	}
	out->complete = ntimed == nw;
	share_untimed(tok, nw, wtok, wstart, wend);
	rc = trim_and_pad(text, raw, sp_start, sp_end, lead_s, trail_s, tok, nw, wtok, wstart, wend, out);
out:
	if (rc)
		synth_audio_free(out);
	free(buf);
	free(tok);
	free(raw);
	free(wstart);
	free(wend);
	free(wtok);
	return rc;
}
