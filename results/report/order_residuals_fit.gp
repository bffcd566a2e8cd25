set terminal svg size 720,540 dynamic enhanced font 'Helvetica,13' background '#ffffff'
set output 'order_residuals_fit.svg.tmp'
set title "Order-condition residuals of the schemes trained by fit (max |Phi(t) - 1/gamma(t)| by order)" noenhanced
set xlabel 'order of the rooted trees'
set ylabel 'max |residual| (exact zeros at 1e-17)'
set logscale y
set format y '10^{%L}'
set xrange [0.5:8.5]
set xtics 1
set grid lc rgb '#dddddd'
set key outside right top noenhanced
plot 'order_residuals_fit.dat' index 0 with linespoints lw 2 pt 7 ps 0.7  title 'trk4 h=0.1', \
     'order_residuals_fit.dat' index 1 with linespoints lw 2 pt 7 ps 0.7  title 'trk4 h=0.15', \
     'order_residuals_fit.dat' index 2 with linespoints lw 2 pt 7 ps 0.7  title 'trk4 h=0.16', \
     'order_residuals_fit.dat' index 3 with linespoints lw 2 pt 7 ps 0.7  title 'trk4 h=0.17', \
     'order_residuals_fit.dat' index 4 with linespoints lw 2 pt 7 ps 0.7  title 'trk4 h=0.18', \
     'order_residuals_fit.dat' index 5 with linespoints lw 2 pt 7 ps 0.7  title 'trk4 h=0.19', \
     'order_residuals_fit.dat' index 6 with linespoints lw 2 pt 7 ps 0.7 dt 2 lc rgb '#777777' title 'rk4 (reference)', \
     'order_residuals_fit.dat' index 7 with linespoints lw 2 pt 7 ps 0.7 dt 2 lc rgb '#777777' title 'euler (reference)'
