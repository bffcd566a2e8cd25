set encoding utf8
set datafile missing '?'
set terminal svg size 720,540 dynamic enhanced font 'Helvetica,13' background '#ffffff'
set output 'reliability_lorenz63_t0_h.svg.tmp'
set title "RMSE at t0+h over 10 datasets, lorenz63" noenhanced
set xlabel 'step h (solvers side by side; one point per dataset)'
set ylabel 'RMSE at t0+h'
set logscale y
set format y '10^{%L}'
set yrange [4.06e-08:100]
set xrange [0.5:3.5]
set xtics ('h = 0.2' 1, 'h = 0.3' 2, 'h = 0.4' 3)
set grid ytics lc rgb '#dddddd'
set key below horizontal width -2 noenhanced
plot 'reliability_lorenz63_t0_h.dat' index 0 with vectors nohead lw 2 lc rgb '#000000' title 'median', \
     'reliability_lorenz63_t0_h.dat' index 1 with points pt 7 ps 0.6 lc rgb '#9467bd' title 'sr', \
     'reliability_lorenz63_t0_h.dat' index 2 with points pt 7 ps 0.6 lc rgb '#2ca02c' title 'euler', \
     'reliability_lorenz63_t0_h.dat' index 3 with points pt 7 ps 0.6 lc rgb '#1f77b4' title 'rk4', \
     'reliability_lorenz63_t0_h.dat' index 4 with points pt 7 ps 0.6 lc rgb '#ff7f0e' title 'dopri8', \
     'reliability_lorenz63_t0_h.dat' index 5 with points pt 7 ps 0.6 lc rgb '#17becf' title 'trk10', \
     'reliability_lorenz63_t0_h.dat' index 6 with points pt 12 ps 1.6 lw 2 lc rgb '#d62728' title "the talk's", \
     10 with lines dt 2 lw 2 lc rgb '#555555' title '> 10: diverged (drawn at 30)'
