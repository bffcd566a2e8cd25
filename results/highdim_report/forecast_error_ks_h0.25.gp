set encoding utf8
set datafile missing '?'
set terminal svg size 720,540 dynamic enhanced font 'Helvetica,13' background '#ffffff'
set output 'forecast_error_ks_h0.25.svg.tmp'
set title "Forecast error against lead time, ks h = 0.25" noenhanced
set xlabel 'lead time (one step of the flow map = h = 0.25)'
set ylabel 'RMSE'
set logscale y
set format y '10^{%L}'
set yrange [0.000766:100]
set grid lc rgb '#dddddd'
set key below noenhanced
plot 'forecast_error_ks_h0.25.dat' index 0 with linespoints lw 2 pt 7 ps 0.5 lc 1 title 'euler (17 starts)', \
     'forecast_error_ks_h0.25.dat' index 1 with linespoints lw 2 pt 7 ps 0.5 lc 2 title 'rk4 (17 starts)', \
     'forecast_error_ks_h0.25.dat' index 2 with linespoints lw 2 pt 7 ps 0.5 lc 3 title 'dopri8 (17 starts)', \
     'forecast_error_ks_h0.25.dat' index 3 with linespoints lw 2 pt 7 ps 0.5 lc 4 title 'trk10 (17 starts)', \
     10 with lines dt 2 lw 2 lc rgb '#555555' title 'diverged above 10'
