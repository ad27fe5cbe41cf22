// SPDX-License-Identifier: MIT
/*
 * Description: a C++ program using the standard containers - vector,
 * string, map, unordered_map, list, deque, shared_ptr - through operator
 * new and delete (libstdc++ calls malloc and free), with every result
 * checked; run on the malloc drop-in. Exits non-zero on a wrong result.
 */
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <list>
#include <map>
#include <memory>
#include <numeric>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

static int failures;

#define CHECK(cond)                                                          \
	do {                                                                 \
		if (!(cond)) {                                               \
			std::fprintf(stderr, "cxx: %s:%d: %s\n", __FILE__,  \
				     __LINE__, #cond);                       \
			failures++;                                          \
		}                                                            \
	} while (0)

static void work(unsigned seed)
{
	std::vector<std::string> words;
	std::unordered_map<std::string, long> count;
	std::map<long, std::vector<int>> buckets;
	std::list<std::shared_ptr<std::string>> keep;
	std::deque<long> window;

	for (unsigned i = 0; i < 200000; i++) {
		unsigned k = (i * 2654435761u + seed) % 5000;
		std::string w = "word-" + std::to_string(k) + std::string(k % 40, 'x');

		words.push_back(w);
		count[w]++;
		buckets[k % 97].push_back((int)i);
		if (i % 10 == 0)
			keep.push_back(std::make_shared<std::string>(w));
		window.push_back(i);
		if (window.size() > 1000)
			window.pop_front();
	}
	long total = 0;
	for (const auto &kv : count)
		total += kv.second;
	CHECK(total == 200000);
	CHECK(words.size() == 200000);
	CHECK(keep.size() == 20000);
	CHECK(window.size() == 1000 && window.front() == 199000);
	size_t in_buckets = 0;
	for (const auto &b : buckets)
		in_buckets += b.second.size();
	CHECK(in_buckets == 200000);
	long sum = std::accumulate(window.begin(), window.end(), 0L);
	CHECK(sum == (199000L + 199999L) * 1000 / 2);
	for (auto &w : words)
		w += "!";
	CHECK(words[123].back() == '!');
}

int main()
{
	std::vector<std::thread> threads;

	for (unsigned t = 0; t < 4; t++)
		threads.emplace_back(work, t);
	for (auto &t : threads)
		t.join();
	work(99);
	if (failures)
		return 1;
	std::puts("cxx: all containers checked");
	return 0;
}
