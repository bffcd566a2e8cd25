set encoding utf8
set datafile missing '?'
set terminal svg size 720,540 dynamic enhanced font 'Helvetica,13' background '#ffffff'
set output 'order_residuals_identify.svg.tmp'
set title "Order-condition residuals, schemes trained by identify\nmax |Phi(t) - 1/gamma(t)| over the trees of each order" noenhanced
set xlabel 'order of the rooted trees'
set ylabel 'max |residual| (exact zeros at 1e-17)'
set logscale y
set format y '10^{%L}'
set xrange [0.5:8.5]
set xtics 1
set grid lc rgb '#dddddd'
set key below noenhanced
plot 'order_residuals_identify.dat' index 0 with linespoints lw 2 pt 7 ps 0.7 title 'trk10 local-bilinear h=0.25', \
     'order_residuals_identify.dat' index 1 with linespoints lw 2 pt 7 ps 0.7 title 'trk10 local-bilinear h=0.5', \
     'order_residuals_identify.dat' index 2 with linespoints lw 2 pt 7 ps 0.7 title 'trk10 local-bilinear h=1.0', \
     'order_residuals_identify.dat' index 3 with linespoints lw 2 pt 7 ps 0.7 title 'trk10 bilinear h=0.3', \
     'order_residuals_identify.dat' index 4 with linespoints lw 2 pt 7 ps 0.7 title 'trk10 local-bilinear h=0.05', \
     'order_residuals_identify.dat' index 5 with linespoints lw 2 pt 7 ps 0.7 title 'trk10 local-bilinear h=0.1', \
     'order_residuals_identify.dat' index 6 with linespoints lw 2 pt 7 ps 0.7 title 'trk10 local-bilinear h=0.2', \
     'order_residuals_identify.dat' index 7 with linespoints lw 2 pt 4 ps 0.9 dt 2 lc rgb '#555555' title 'rk4 (reference)', \
     'order_residuals_identify.dat' index 8 with linespoints lw 2 pt 6 ps 0.9 dt 4 lc rgb '#000000' title 'euler (reference)'
