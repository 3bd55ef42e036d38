/** JMH benchmarks of the streaming core. */
package dev.backstop.benchmarks;
