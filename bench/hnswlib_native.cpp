// hnswlib_native.cpp: the in-process reference of the benchmark, native
// hnswlib as its users build it (Debian's libhnswlib-dev headers, compiled
// by bench/demo.sh with -O3 -march=native).  demo.py writes the vectors as
// raw float32 files and reads back one JSON object on stdout: the build's
// time with one thread and with --threads, for each ef a query pass on one
// thread (its time; the answers go to OUT.ef<ef>.i32 as int32, k a query,
// for demo.py to score), the same pass on two threads, and the rate of
// adding rows one at a time on one thread after the sweep.
//
//   hnswlib_native --space l2|ip|cosine --dim D --train F --ntrain N
//       --test F --ntest N --m M --ef-construction E --threads T
//       --k K --efs 10,20,40 --add N --out PREFIX [--single-thread-build 0]
#include <hnswlib/hnswlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace
{

double
now()
{
	return std::chrono::duration<double>(
		std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::vector<float>
read_floats(const std::string &path, size_t count)
{
	std::vector<float> v(count);
	std::ifstream f(path, std::ios::binary);
	if (!f.read(reinterpret_cast<char *>(v.data()), count * sizeof(float)))
	{
		std::fprintf(stderr, "hnswlib_native: cannot read %zu floats from %s\n",
					 count, path.c_str());
		std::exit(1);
	}
	return v;
}

// cosine is the inner product of unit vectors, as hnswlib's own binding does
void
normalize(std::vector<float> &v, size_t dim)
{
	for (size_t i = 0; i + dim <= v.size(); i += dim)
	{
		double		s = 0;

		for (size_t j = 0; j < dim; j++)
			s += (double) v[i + j] * v[i + j];
		s = std::sqrt(s);
		if (s > 0)
			for (size_t j = 0; j < dim; j++)
				v[i + j] = (float) (v[i + j] / s);
	}
}

// run fn(i) for i in [0, n) on nthreads threads, each taking the next i
template <typename Fn>
void
parallel_for(size_t n, int nthreads, Fn fn)
{
	std::atomic<size_t> next(0);
	std::vector<std::thread> threads;

	for (int t = 0; t < nthreads; t++)
		threads.emplace_back([&]() {
			for (size_t i = next++; i < n; i = next++)
				fn(i);
		});
	for (auto &t : threads)
		t.join();
}

std::unique_ptr<hnswlib::HierarchicalNSW<float>>
build(hnswlib::SpaceInterface<float> *space, const std::vector<float> &train,
	  size_t ntrain, size_t dim, size_t capacity, int m, int efc, int threads,
	  double *seconds)
{
	std::unique_ptr<hnswlib::HierarchicalNSW<float>> index(
		new hnswlib::HierarchicalNSW<float>(space, capacity, m, efc, 100));
	double		t0 = now();

	// the first point alone, as hnswlib's binding does, then the rest
	index->addPoint(train.data(), 0);
	parallel_for(ntrain - 1, threads, [&](size_t i) {
		index->addPoint(train.data() + (i + 1) * dim, i + 1);
	});
	*seconds = now() - t0;
	return index;
}

}								// namespace

int
main(int argc, char **argv)
{
	std::string space_name = "l2", train_path, test_path, out, efs_arg = "10";
	size_t		dim = 0, ntrain = 0, ntest = 0, nadd = 0;
	int			m = 16, efc = 64, threads = 2, k = 10;
	bool		single = true;

	for (int i = 1; i + 1 < argc; i += 2)
	{
		std::string a = argv[i], v = argv[i + 1];

		if (a == "--space") space_name = v;
		else if (a == "--dim") dim = std::stoul(v);
		else if (a == "--train") train_path = v;
		else if (a == "--ntrain") ntrain = std::stoul(v);
		else if (a == "--test") test_path = v;
		else if (a == "--ntest") ntest = std::stoul(v);
		else if (a == "--m") m = std::stoi(v);
		else if (a == "--ef-construction") efc = std::stoi(v);
		else if (a == "--threads") threads = std::stoi(v);
		else if (a == "--k") k = std::stoi(v);
		else if (a == "--efs") efs_arg = v;
		else if (a == "--add") nadd = std::stoul(v);
		else if (a == "--out") out = v;
		else if (a == "--single-thread-build") single = (v != "0");
		else
		{
			std::fprintf(stderr, "hnswlib_native: unknown option %s\n", a.c_str());
			return 2;
		}
	}
	if (dim == 0 || ntrain < 2 || ntest == 0 || out.empty())
	{
		std::fprintf(stderr, "hnswlib_native: --dim, --train, --ntrain (2 or more), --test, --ntest and --out are required\n");
		return 2;
	}

	std::vector<float> train = read_floats(train_path, ntrain * dim);
	std::vector<float> test = read_floats(test_path, ntest * dim);
	std::unique_ptr<hnswlib::SpaceInterface<float>> space;

	if (space_name == "l2")
		space.reset(new hnswlib::L2Space(dim));
	else if (space_name == "ip" || space_name == "cosine")
		space.reset(new hnswlib::InnerProductSpace(dim));
	else
	{
		std::fprintf(stderr, "hnswlib_native: unknown space %s\n", space_name.c_str());
		return 2;
	}
	if (space_name == "cosine")
	{
		normalize(train, dim);
		normalize(test, dim);
	}
	nadd = std::min(nadd, ntest);

	double		build_one = 0,
				build_threads = 0;

	// the build on one thread (unless told not to), then with the rest
	if (single)
		build(space.get(), train, ntrain, dim, ntrain, m, efc, 1, &build_one);
	auto		index = build(space.get(), train, ntrain, dim, ntrain + nadd, m, efc,
							  threads, &build_threads);

	std::printf("{\"build_seconds_one_thread\": %.6f, \"build_seconds\": %.6f, \"threads\": %d, \"sweep\": [",
				build_one, build_threads, threads);
	std::vector<int32_t> answers(ntest * k, -1);
	size_t		start = 0;
	bool		first = true;

	while (start < efs_arg.size())
	{
		size_t		comma = efs_arg.find(',', start);
		int			ef = std::stoi(efs_arg.substr(start, comma - start));

		start = comma == std::string::npos ? efs_arg.size() : comma + 1;
		index->setEf(std::max(ef, k));
		for (size_t q = 0; q < std::min<size_t>(ntest, 50); q++)
			index->searchKnn(test.data() + q * dim, k);

		// one thread: one client
		double		t0 = now();

		for (size_t q = 0; q < ntest; q++)
		{
			auto		result = index->searchKnn(test.data() + q * dim, k);

			for (int j = (int) result.size() - 1; j >= 0; j--)
			{
				answers[q * k + j] = (int32_t) result.top().second;
				result.pop();
			}
		}
		double		one = now() - t0;

		// two threads: two clients
		t0 = now();
		parallel_for(ntest, 2, [&](size_t q) {
			index->searchKnn(test.data() + q * dim, k);
		});
		double		two = now() - t0;

		std::string path = out + ".ef" + std::to_string(ef) + ".i32";
		std::ofstream f(path, std::ios::binary);
		f.write(reinterpret_cast<const char *>(answers.data()), answers.size() * sizeof(int32_t));
		std::printf("%s{\"ef_search\": %d, \"qps\": %.3f, \"two_threads_qps\": %.3f, \"answers\": \"%s\"}",
					first ? "" : ", ", ef, ntest / one, ntest / two, path.c_str());
		first = false;
	}

	// rows added one at a time on one thread: the counterpart of INSERTs
	double		t0 = now();

	for (size_t i = 0; i < nadd; i++)
		index->addPoint(test.data() + i * dim, ntrain + i);
	double		add = now() - t0;

	std::printf("], \"added_rows\": %zu, \"add_one_thread_rows_per_second\": %.3f}\n",
				nadd, nadd > 0 ? nadd / add : 0.0);
	return 0;
}
